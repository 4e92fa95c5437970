import EnvelopeScanner
import Foundation
import Testing

@Suite("Public API: overloads and error values")
struct APITests {
    static let body = #"  {"team":"t","payload":[1,2]}  "#

    @Test("every overload gives the same answer")
    func overloadsAgree() throws {
        let array = bytes(Self.body)
        let expected = ScannedEnvelope(team: "t", payload: 24..<29)
        #expect(try EnvelopeScanner.scanEnvelope(array) == expected)
        #expect(try array.withUnsafeBytes { raw in try EnvelopeScanner.scanEnvelope(raw) } == expected)
        #expect(try EnvelopeScanner.scanEnvelope(Data(array)) == expected)
        #expect(try EnvelopeScanner.scanEnvelope(Self.body.utf8) == expected)
        #expect(try EnvelopeScanner.scanEnvelope(AnyCollection(array)) == expected) // not contiguous: copied
        try EnvelopeScanner.validate(array)
        try EnvelopeScanner.validate(Data(array))
        try EnvelopeScanner.validate(array[...])
        #expect(try EnvelopeScanner.arrayElements(Data("[1, 2]".utf8)) == [1..<2, 4..<5])
        #expect(try EnvelopeScanner.arrayElements(AnyCollection(bytes("[1, 2]"))) == [1..<2, 4..<5])
    }

    @Test("offsets from a collection overload count from its first byte, not from its indices")
    func sliceOffsetsAreRelative() throws {
        let padded = bytes("xxxx" + Self.body)
        let slice = padded[4...]
        #expect(try EnvelopeScanner.scanEnvelope(slice).payload == 24..<29)
        #expect(EnvelopeTests.payloadText(Array(slice), try EnvelopeScanner.scanEnvelope(slice)) == "[1,2]")
        let error = Result { () throws(EnvelopeError) in try EnvelopeScanner.validate(padded[4..<7]) }.failure
        #expect(error?.code == .invalidJSON)
        #expect(error?.offset == 3)
    }

    @Test("an empty buffer with no base address is emptyBody")
    func emptyRawBuffer() {
        let raw = UnsafeRawBufferPointer(start: nil, count: 0)
        let error = Result { () throws(EnvelopeError) in try EnvelopeScanner.validate(raw) }.failure
        #expect(error?.code == .emptyBody)
        #expect(error?.message == "the body is empty")
    }

    static let allCodes: [EnvelopeError.Code] = [
        .emptyBody, .invalidJSON, .invalidUTF8, .trailingData, .tooDeep,
        .notAnObject, .notAnArray, .missingPayload, .wrongFieldType, .duplicateField, .unknownField,
    ]

    @Test("codes are distinct, hashable and named")
    func codes() {
        #expect(Set(Self.allCodes).count == 11)
        #expect(Set(Self.allCodes.map(\.description)).count == 11)
        #expect(EnvelopeError.Code.invalidUTF8.description == "invalidUTF8")
        #expect(EnvelopeError.Code.tooDeep == .tooDeep)
        #expect(EnvelopeError.Code.tooDeep != .invalidJSON)
    }

    @Test("errors are values: equality, description, and a message with the offset")
    func errorValues() throws {
        let error = try #require(validationError(#"{"a":1 x}"#))
        #expect(error.code == .invalidJSON)
        #expect(error.offset == 7)
        #expect(error.field == nil)
        #expect(error.message == "expected ',' or '}' after an object member at byte 7, found 'x'")
        #expect(error.description == "invalidJSON: " + error.message)
        #expect(error == EnvelopeError(code: .invalidJSON, message: error.message, offset: 7))
        #expect(error != EnvelopeError(code: .invalidJSON, message: error.message, offset: 8))
        let thrown: any Error = error
        #expect(thrown as? EnvelopeError == error)
    }

    static let messages: [(String, String)] = [
        ("[1 x]", "expected ',' or ']' after an array element at byte 3, found 'x'"),
        ("[1", "expected ',' or ']' after an array element at byte 2, but the input ended"),
        ("{\"a\"", "expected ':' after an object key at byte 4, but the input ended"),
        ("{1}", "expected a string key or '}' at byte 1, found '1'"),
        ("[\u{E9}]", "expected a value at byte 1, found 'é' (U+00E9)"),
        ("[\"\\q\"]", "invalid escape sequence at byte 2: '\\' followed by 'q'; allowed are \\\" \\\\ \\/ \\b \\f \\n \\r \\t and \\uXXXX"),
        ("01", "invalid number at byte 0: leading zeros are not allowed"),
        ("1.", "invalid number at byte 2: expected a digit after the decimal point, the input ended"),
        ("tru", "invalid literal at byte 0: expected 'true'"),
        ("\"ab", "unterminated string starting at byte 0: the input ended at byte 3"),
        ("1 2", "unexpected '2' at byte 2 after the end of the top-level JSON value"),
        ("\"\\uDC00\"", "unpaired UTF-16 surrogate escape \\uDC00 at byte 1: a low surrogate must follow a high surrogate (\\uD800-\\uDBFF)"),
    ]

    @Test("messages name the problem and the byte", arguments: messages)
    func messageTexts(_ text: String, message: String) {
        #expect(validationError(text)?.message == message)
    }

    @Test("UTF-8 messages name the byte and the reason")
    func utf8Messages() {
        #expect(
            validationError([0x22, 0xED, 0xA0, 0x80, 0x22])?.message == "invalid UTF-8 at byte 1: UTF-16 surrogate (U+D800-U+DFFF) encoded in UTF-8")
        #expect(validationError([0x22, 0xC0, 0xAF, 0x22])?.message == "invalid UTF-8 at byte 1: overlong encoding (lead byte 0xC0)")
        #expect(validationError([0x22, 0x09, 0x22])?.message.contains("0x09") == true)
    }

    @Test("tooDeep and missingPayload messages")
    func otherMessages() {
        #expect(validationError("[[[", maxDepth: 2)?.message == "objects and arrays nest deeper than the maximum depth of 2 at byte 2")
        #expect(envelopeResult("{}").failure?.message.contains("'payload' is missing") == true)
        #expect(envelopeResult("[]").failure?.message == "the event envelope must be a JSON object, got an array at byte 0")
        #expect(elementsResult(bytes("{}")).failure?.message == "the body must be a JSON array, got an object at byte 0")
    }
}
