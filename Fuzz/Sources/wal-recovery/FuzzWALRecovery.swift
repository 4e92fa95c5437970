// Fuzz target: the write-ahead log's recovery of a segment file found on disk.
//
// The input is written as the tail segment of an empty log directory, named after the sequence in its first
// record header (bytes 12..<20, as the writer names segments; 0 when shorter); when that is not 0, an empty sealed
// segment 0 precedes it (segment names, too, come from disk). Then the tail is
//   1. scanned with `SegmentScan.recoveryScan`, as `WriteAheadLog.open` does;
//   2. read back with `SegmentScan.read` over the intact part, from offset 0 and by `locate` from the middle;
//   3. opened with the public `WriteAheadLog.open` (which truncates the damaged tail) and closed.
// Checked: the intact prefix and record count agree between the scan, the reads and `open`'s recovery report, and
// the file is truncated to exactly the intact prefix.

import Dispatch
import FuzzDriver

@testable import WriteAheadLog

#if canImport(Glibc)
import Glibc
#endif

/// A private directory for this process (on tmpfs when there is one).
let directory: String = {
    let parent = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp"
    var template = Array("\(parent)/sluice-fuzz-wal-XXXXXX".utf8CString)
    let made = template.withUnsafeMutableBufferPointer { buffer in buffer.baseAddress.flatMap { mkdtemp($0) } }
    guard let made else { fatalError("cannot create a temporary directory under \(parent)") }
    let path = String(cString: made)
    atexit {
        removeEverything(in: directory)
        rmdir(directory)
    }
    return path
}()

/// Unlinks every entry of `path` (the log creates only files).
func removeEverything(in path: String) {
    guard let dir = opendir(path) else { return }
    var names: [String] = []
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
            String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
        }
        if name != "." && name != ".." { names.append(name) }
    }
    closedir(dir)
    for name in names { unlink(path + "/" + name) }
}

/// Writes `bytes` to a new file at `path`.
func writeFile(_ path: String, _ bytes: UnsafeRawBufferPointer) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    precondition(fd >= 0, "cannot create \(path): errno \(errno)")
    var written = 0
    while written < bytes.count, let base = bytes.baseAddress {
        let n = write(fd, base + written, bytes.count - written)
        precondition(n > 0, "cannot write \(path): errno \(errno)")
        written += n
    }
    close(fd)
}

/// Runs `body` (async) to completion from this synchronous callback (which is not on the cooperative pool).
func blocking(_ body: @escaping @Sendable () async -> Void) {
    let done = DispatchSemaphore(value: 0)
    Task {
        await body()
        done.signal()
    }
    done.wait()
}

/// libFuzzer's callback: one input per call.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    let base = size >= 20 ? UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 12, as: UInt64.self)) : 0
    removeEverything(in: directory)
    let path = directory + "/" + LogCore.segmentFileName(base)
    writeFile(path, bytes)
    if base > 0 { writeFile(directory + "/" + LogCore.segmentFileName(0), UnsafeRawBufferPointer(start: nil, count: 0)) }

    // 1. The recovery scan.
    let fd = open(path, O_RDONLY)
    precondition(fd >= 0, "cannot open \(path)")
    defer { close(fd) }
    let scan: SegmentScan.RecoveryScan
    do throws(WALError) {
        scan = try SegmentScan.recoveryScan(fd: fd, path: path, base: base, fileSize: size)
    } catch {
        preconditionFailure("recovery scan threw on a readable file: \(error)")
    }
    precondition(scan.validBytes >= 0 && scan.validBytes <= size, "validBytes \(scan.validBytes) of \(size)")
    precondition(
        (scan.problem == nil) == (scan.validBytes == size),
        "problem \(String(describing: scan.problem)) with \(scan.validBytes) of \(size) bytes valid")
    precondition((scan.records == 0) == (scan.validBytes == 0), "\(scan.records) records in \(scan.validBytes) bytes")

    // 2. Verified reads over the intact part.
    if scan.records > 0 {
        let limit = base.addingReportingOverflow(UInt64(scan.records))
        precondition(!limit.overflow, "the scan kept \(scan.records) records from \(base): past the last sequence")
        let request = SegmentScan.ReadRequest(
            segment: base, path: path, sequence: base, offset: 0, hint: nil, endBytes: scan.validBytes,
            limitSequence: limit.partialValue, maxRecords: .max, maxBytes: 1 << 30)
        do throws(WALError) {
            let (records, next) = try SegmentScan.read(fd: fd, request)
            precondition(records.count == scan.records, "read \(records.count) records, the scan found \(scan.records)")
            precondition(next == scan.validBytes, "read stopped at \(next), the scan at \(scan.validBytes)")
            for (index, record) in records.enumerated() {
                precondition(record.sequence == base + UInt64(index), "record \(index) has sequence \(record.sequence)")
            }
            if records.count > 1 {
                let middle = records[records.count / 2]
                var located = request
                located.sequence = middle.sequence
                located.offset = nil
                located.maxRecords = 1
                let (found, _) = try SegmentScan.read(fd: fd, located)
                precondition(found == [middle], "locate found another record than the sequential read")
            }
        } catch {
            preconditionFailure("reading the intact part failed: \(error)")
        }
    }

    // 3. The public open (truncates the damaged tail), then close.
    let log: WriteAheadLog
    do throws(WALError) {
        var configuration = WALConfiguration(directory: directory, cursorNames: ["fuzz"])
        configuration.fsync = .never
        log = try WriteAheadLog.open(configuration)
    } catch {
        preconditionFailure("open failed on a readable directory: \(error)")
    }
    let report = log.recovery
    let recovered = Int(clamping: base + UInt64(scan.records)) // from sequence 0 when segment 0 precedes the tail
    precondition(report.recordsRecovered == recovered, "open recovered \(report.recordsRecovered), expected \(recovered)")
    precondition(report.truncatedBytes == size - scan.validBytes, "open truncated \(report.truncatedBytes) bytes")
    blocking { await log.close() }
    var status = stat()
    precondition(stat(path, &status) == 0 && Int(status.st_size) == scan.validBytes, "the segment was not truncated to \(scan.validBytes)")
    return 0
}

/// Hands the process to libFuzzer.
@main
enum FuzzMain {
    static func main() {
        exit(sluice_fuzz_run(CommandLine.argc, CommandLine.unsafeArgv, fuzz))
    }
}
