import Testing

@testable import WriteAheadLog

@Suite("Codec")
struct CodecTests {
    @Test func crc32cVectors() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        #expect(CRC32C.checksum([]) == 0)
        // Incremental update over split input equals one pass, for every split of a longer input.
        let data = (0..<100).map { UInt8(truncatingIfNeeded: $0 &* 13) }
        let whole = CRC32C.checksum(data)
        for split in 0...data.count {
            let state = data[..<split].withUnsafeBytes { CRC32C.update(~0, $0) }
            let final = ~data[split...].withUnsafeBytes { CRC32C.update(state, $0) }
            #expect(final == whole)
        }
    }

    /// The CPU instruction (where this machine has it) and the tables agree on every length and alignment: the
    /// tail loops (fewer than 8 bytes) and the 8-byte loop both run.
    @Test func hardwareMatchesTables() {
        let data = (0..<4099).map { UInt8(truncatingIfNeeded: ($0 &* 131) ^ ($0 >> 3)) }
        data.withUnsafeBytes { all in
            for start in 0..<9 {
                for length in [0, 1, 7, 8, 9, 15, 16, 63, 64, 65, 1000, 4090] {
                    let bytes = UnsafeRawBufferPointer(rebasing: all[start..<(start + length)])
                    #expect(CRC32C.update(~0, bytes) == CRC32C.updateWithTables(~0, bytes), "start \(start), length \(length)")
                }
            }
        }
        #if arch(x86_64)
        #expect(CRC32C.usesHardware, "every x86-64 CPU this runs on has SSE4.2")
        #endif
    }

    @Test func framingRoundTrip() {
        let entries = [
            LogEntry(eventID: "", routes: 0, receivedAtMillis: -5, body: []),
            LogEntry(eventID: "évènement-✓", routes: .max, receivedAtMillis: .max, body: Array("{\"a\":1}".utf8)),
            makeEntry(7, bodySize: 5000),
        ]
        for (i, entry) in entries.enumerated() {
            let bytes = RecordCodec.encode(entry, sequence: UInt64(1000 + i))
            #expect(bytes.count == RecordCodec.encodedSize(entry))
            #expect(Array(bytes[0..<4]) == [0x53, 0x4C, 0x57, 0x01])
            let parsed = bytes.withUnsafeBytes { RecordCodec.decode($0, segment: 9, offset: 77) }
            guard case .record(let record, let size) = parsed else {
                Issue.record("did not decode: \(parsed)")
                continue
            }
            #expect(size == bytes.count)
            #expect(record.sequence == UInt64(1000 + i))
            #expect(record.segment == 9 && record.offset == 77)
            #expect(record.entry == entry)
            // Every proper prefix is incomplete, never a record.
            for cut in stride(from: 0, to: bytes.count, by: max(1, bytes.count / 50)) {
                let p = bytes[0..<cut].withUnsafeBytes { RecordCodec.decode($0, segment: 9, offset: 77) }
                if case .incomplete = p {} else { Issue.record("prefix \(cut) parsed as \(p)") }
            }
            // Any single flipped byte is detected.
            for position in 0..<min(bytes.count, 80) {
                var damaged = bytes
                damaged[position] ^= 0x20
                let p = damaged.withUnsafeBytes { RecordCodec.decode($0, segment: 9, offset: 77) }
                if case .record = p { Issue.record("flip at \(position) not detected") }
            }
        }
    }

    @Test func knownLayout() {
        let bytes = RecordCodec.encode(LogEntry(eventID: "ab", routes: 0x0102_0304, receivedAtMillis: 0x0A0B, body: [9, 8, 7]), sequence: 0x55)
        #expect(bytes.count == 45)
        #expect(Array(bytes[4..<8]) == [45, 0, 0, 0])
        #expect(Array(bytes[12..<20]) == [0x55, 0, 0, 0, 0, 0, 0, 0])
        #expect(Array(bytes[20..<28]) == [0x0B, 0x0A, 0, 0, 0, 0, 0, 0])
        #expect(Array(bytes[28..<32]) == [4, 3, 2, 1])
        #expect(Array(bytes[32..<36]) == [2, 0, 0, 0])
        #expect(Array(bytes[36..<38]) == Array("ab".utf8))
        #expect(Array(bytes[38..<42]) == [3, 0, 0, 0])
        #expect(Array(bytes[42..<45]) == [9, 8, 7])
        let crc = UInt32(bytes[8]) | UInt32(bytes[9]) << 8 | UInt32(bytes[10]) << 16 | UInt32(bytes[11]) << 24
        #expect(crc == CRC32C.checksum(Array(bytes[12...])))
    }

    @Test func cursorFileRoundTrip() {
        let bytes = CursorFile.encode(123_456_789_012)
        #expect(bytes.count == 16)
        #expect(CursorFile.decode(bytes) == 123_456_789_012)
        var damaged = bytes
        damaged[6] ^= 1
        #expect(CursorFile.decode(damaged) == nil)
    }

    @Test func configurationValidation() {
        #expect(WriteAheadLog.isValidCursorName("sink_1.prod-A"))
        #expect(!WriteAheadLog.isValidCursorName("a/b"))
        #expect(!WriteAheadLog.isValidCursorName(""))
        #expect(!WriteAheadLog.isValidCursorName(".."))
        #expect(!WriteAheadLog.isValidCursorName("naïve"))
        var c = WALConfiguration(directory: "/tmp/x", cursorNames: ["a", "a"])
        #expect(throws: WALError.self) { try WriteAheadLog.validate(c) }
        c.cursorNames = ["ok"]
        c.segmentSizeBytes = 0
        #expect(throws: WALError.self) { try WriteAheadLog.validate(c) }
        c.segmentSizeBytes = 1
        c.fsync = .interval(.zero)
        #expect(throws: WALError.self) { try WriteAheadLog.validate(c) }
        c.fsync = .interval(.milliseconds(1))
        #expect(throws: Never.self) { try WriteAheadLog.validate(c) }
    }
}
