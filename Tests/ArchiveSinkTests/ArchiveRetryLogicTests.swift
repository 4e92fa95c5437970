import ArchiveSink
import Delivery
import Foundation
import Testing

@Suite("Archive retry logic")
struct ArchiveRetryLogicTests {
    let logic = ArchiveRetryLogic()

    func io(_ code: Int32?) -> ArchiveError {
        ArchiveError(code: .io, message: "test", path: "/x", errno: code)
    }

    @Test("transient file errors are retriable", arguments: [ENOSPC, EDQUOT, EIO, EINTR, EAGAIN, EBUSY, EMFILE, ENFILE, ENOMEM])
    func retriable(code: Int32) {
        #expect(logic.decide(io(code)) == .retriable)
    }

    @Test("errors only an operator can fix are permanent", arguments: [EACCES, EPERM, EROFS, ENOTDIR, EISDIR, ENAMETOOLONG, ENOENT])
    func permanent(code: Int32) {
        #expect(logic.decide(io(code)) == .permanent)
    }

    @Test("the decision reads the code, never the message")
    func byCode() {
        #expect(logic.decide(ArchiveError(code: .compression, message: "no space left on device")) == .retriable)
        #expect(logic.decide(ArchiveError(code: .invalidConfiguration, message: "temporarily unavailable")) == .permanent)
        #expect(logic.decide(ArchiveError(code: .unavailable, message: "thread pool is shut down")) == .permanent)
        #expect(logic.decide(io(nil)) == .retriable)
        #expect(logic.decide(ArchiveError(code: .io, message: "permission denied", errno: ENOSPC)) == .retriable)
    }
}
