import EnvelopeScanner
import Testing

@Suite("Envelope extraction")
struct EnvelopeTests {
    /// The payload's bytes as text.
    static func payloadText(_ input: [UInt8], _ envelope: ScannedEnvelope) -> String {
        String(decoding: input[envelope.payload], as: UTF8.self)
    }

    @Test("the gateway's example envelope")
    func extractsExampleEnvelope() throws {
        let body = bytes(
            #"{"team":"rpp","app":"promo-clicks","partition_key":"user-42","event_id":"abc","large_message":false,"payload":{"event":"signup"}}"#
        )
        let envelope = try EnvelopeScanner.scanEnvelope(body)
        #expect(
            envelope
                == ScannedEnvelope(team: "rpp", app: "promo-clicks", partitionKey: "user-42", eventID: "abc", largeMessage: false, payload: 110..<128)
        )
        #expect(Self.payloadText(body, envelope) == #"{"event":"signup"}"#)
    }

    static let payloads: [String] = [
        #"{"a":[1,2,{"b":null}],"c":"d"}"#, #"[1, "x", {"y": []}]"#, #""str""#, #""""#, #""esc\"aped\u00e9""#,
        "-1.5e3", "0", "12345", "true", "false", "null", "{}", "[]", "{ }", "[ ]",
        #"{"dup":1,"dup":2,"team":"inner","unknown":true,"payload":{}}"#,
    ]

    @Test("the payload range is exactly the value's bytes, whitespace excluded", arguments: payloads)
    func payloadRangeIsExact(_ payload: String) throws {
        let layouts = [
            #"{"payload":"# + payload + "}",
            "{ \"payload\" : \n\t " + payload + " \r\n , \"team\" : \"t\" }",
            "\n{\"team\":\"t\",\"payload\":  " + payload + "\t\n}\n",
            "{\"payload\"\n:\n" + payload + "\n,\"large_message\":true}",
        ]
        for layout in layouts {
            let input = bytes(layout)
            let envelope = try EnvelopeScanner.scanEnvelope(input)
            #expect(Self.payloadText(input, envelope) == payload, "\(layout)")
        }
    }

    @Test("absent and null fields are nil; a null payload is a payload")
    func absentAndNullFields() throws {
        let minimal = try EnvelopeScanner.scanEnvelope(bytes(#"{"payload":null}"#))
        #expect(minimal == ScannedEnvelope(payload: 11..<15))
        let nulls = try EnvelopeScanner.scanEnvelope(
            bytes(#"{"team":null,"app":null,"partition_key":null,"event_id":null,"large_message":null,"payload":1}"#)
        )
        #expect(nulls.team == nil && nulls.app == nil && nulls.partitionKey == nil && nulls.eventID == nil && nulls.largeMessage == nil)
        #expect(try EnvelopeScanner.scanEnvelope(bytes(#"{"large_message":true,"payload":1}"#)).largeMessage == true)
        #expect(try EnvelopeScanner.scanEnvelope(bytes(#"{"large_message":false,"payload":1}"#)).largeMessage == false)
    }

    @Test("string fields are decoded, in any member order")
    func decodesStringFields() throws {
        let body = bytes(
            #"{"payload":[],"event_id":"id\/\u0031","partition_key":"k\"ey\\","app":"caf\u00E9 \uD83D\uDE00","team":"line\nbreak\ttab"}"#
        )
        let envelope = try EnvelopeScanner.scanEnvelope(body)
        #expect(envelope.team == "line\nbreak\ttab")
        #expect(envelope.app == "café 😀")
        #expect(envelope.partitionKey == "k\"ey\\")
        #expect(envelope.eventID == "id/1")
        #expect(envelope.team?.utf8.count == 14)
    }

    @Test("keys are compared after decoding")
    func comparesDecodedKeys() throws {
        let envelope = try EnvelopeScanner.scanEnvelope(
            bytes(#"{"te\u0061m":"a","\u0061pp":"b","partition\u005fkey":"c","event_id":"d","large_messag\u0065":true,"p\u0061yload":0}"#)
        )
        #expect(envelope == ScannedEnvelope(team: "a", app: "b", partitionKey: "c", eventID: "d", largeMessage: true, payload: 113..<114))
        let duplicate = envelopeResult(#"{"team":"a","te\u0061m":"b","payload":0}"#).failure
        #expect(duplicate?.code == .duplicateField)
        #expect(duplicate?.field == "team")
    }

    @Test(
        "the top level must be an object",
        arguments: [
            ("[]", "an array"), ("\"x\"", "a string"), ("1", "a number"), ("-", "a number"), ("true", "a boolean"), ("null", "null"),
            ("[1,", "an array"),
        ])
    func requiresObject(_ text: String, kind: String) {
        let error = envelopeResult(" " + text).failure
        #expect(error?.code == .notAnObject)
        #expect(error?.offset == 1)
        #expect(error?.message.contains("got \(kind)") == true, "\(error?.message ?? "")")
        #expect(error?.field == nil)
    }

    @Test("a top level that is not even a value start is invalid JSON, not notAnObject")
    func garbageIsInvalidJSON() {
        #expect(envelopeResult("x").failure?.code == .invalidJSON)
        #expect(envelopeResult("}").failure?.code == .invalidJSON)
        #expect(envelopeResult([0xFF]).failure?.code == .invalidUTF8)
    }

    static let fieldErrors: [(String, EnvelopeError.Code, String?, Int?)] = [
        (#"{"team":"x"}"#, .missingPayload, "payload", 11),
        ("{}", .missingPayload, "payload", 1),
        (#"{"team":1,"payload":0}"#, .wrongFieldType, "team", 8),
        (#"{"app":{},"payload":0}"#, .wrongFieldType, "app", 7),
        (#"{"partition_key":[],"payload":0}"#, .wrongFieldType, "partition_key", 17),
        (#"{"event_id":true,"payload":0}"#, .wrongFieldType, "event_id", 12),
        (#"{"large_message":"yes","payload":0}"#, .wrongFieldType, "large_message", 17),
        (#"{"large_message":1,"payload":0}"#, .wrongFieldType, "large_message", 17),
        (#"{"large_message":{},"payload":0}"#, .wrongFieldType, "large_message", 17),
        (#"{"team":"a","team":"b","payload":0}"#, .duplicateField, "team", 12),
        (#"{"team":null,"team":"b","payload":0}"#, .duplicateField, "team", 13),
        (#"{"payload":0,"payload":1}"#, .duplicateField, "payload", 13),
        (#"{"large_message":true,"large_message":true,"payload":0}"#, .duplicateField, "large_message", 22),
        (#"{"payload":0,"extra":2}"#, .unknownField, "extra", 13),
        (#"{"\u0065xtra":2,"payload":0}"#, .unknownField, "extra", 1),
        (#"{"Team":"x","payload":0}"#, .unknownField, "Team", 1),
        (#"{"":"x","payload":0}"#, .unknownField, "", 1),
        (#"{"payloads":0}"#, .unknownField, "payloads", 1),
    ]

    @Test("each envelope error names its field", arguments: fieldErrors)
    func reportsFieldErrors(_ text: String, code: EnvelopeError.Code, field: String?, offset: Int?) {
        let error = envelopeResult(text).failure
        #expect(error?.code == code, "\(text): \(error?.description ?? "accepted")")
        #expect(error?.field == field)
        #expect(error?.offset == offset)
        if let field {
            #expect(error?.message.contains("'\(field)'") == true, "\(error?.message ?? "")")
        }
    }

    @Test("the wrong-type message says what was expected and what came")
    func wrongTypeMessage() {
        #expect(envelopeResult(#"{"team":12,"payload":0}"#).failure?.message == "field 'team' must be a string, got a number at byte 8")
        #expect(
            envelopeResult(#"{"large_message":"no","payload":0}"#).failure?.message
                == "field 'large_message' must be a boolean, got a string at byte 17"
        )
    }

    @Test("an unknown field's message escapes control characters and stays short")
    func unknownFieldMessageIsSafe() {
        let long = String(repeating: "x", count: 500)
        let error = envelopeResult(#"{"a\n"# + long + #"":1}"#).failure
        #expect(error?.code == .unknownField)
        #expect(error?.field == "a\n" + long)
        #expect(error?.message.contains("\n") == false)
        #expect((error?.message.count ?? 0) < 250)
    }

    static let precedence: [(String, EnvelopeError.Code, Int)] = [
        // envelope problems found before a later syntax error win (first in byte order) ...
        (#"{"extra":1, x}"#, .unknownField, 1),
        (#"{"team":"a","team":tru}"#, .duplicateField, 12),
        (#"{"team":tru,"payload":0}"#, .wrongFieldType, 8),
        (#"{"team":-,"payload":0}"#, .wrongFieldType, 8),
        (#"[1,"#, .notAnObject, 0),
        // ... syntax errors before them win ...
        (#"{"payload":tru,"extra":1}"#, .invalidJSON, 11),
        (#"{"payload":{"a":01},"extra":1}"#, .invalidJSON, 16),
        (#"{"team":"a\u12","team":1}"#, .invalidJSON, 10),
        ("{\"te\u{1}am\":1}", .invalidJSON, 4),
        (#"{"large_message":nul,"payload":0}"#, .invalidJSON, 17),
        (#"{"large_message":x,"payload":0}"#, .invalidJSON, 17),
        // ... and a missing payload only shows once the document is otherwise valid.
        (#"{"team":"x"} x"#, .trailingData, 13),
        (#"{"team":"x","#, .invalidJSON, 12),
        (#"{"team":"x" "#, .invalidJSON, 12),
        (#"{"team":"x","payload":["#, .invalidJSON, 23),
        ("{\"team\":\"x\"}\u{FF}", .trailingData, 12),
    ]

    @Test("the first problem in byte order wins; a missing payload waits for valid JSON", arguments: precedence)
    func reportsFirstProblem(_ text: String, code: EnvelopeError.Code, offset: Int) {
        let error = envelopeResult(text).failure
        #expect(error?.code == code, "\(text): \(error?.description ?? "accepted")")
        #expect(error?.offset == offset, "\(text): \(error?.description ?? "accepted")")
    }

    @Test("invalid UTF-8 in an envelope key is invalidUTF8")
    func invalidUTF8InKey() {
        let input = bytes(#"{"te"#) + [0xC0, 0xAF] + bytes(#"am":"x","payload":0}"#)
        let error = envelopeResult(input).failure
        #expect(error?.code == .invalidUTF8)
        #expect(error?.offset == 4)
    }

    @Test("payload errors surface from deep inside the payload")
    func payloadErrors() {
        #expect(envelopeResult(#"{"payload":{"a":[1,2,{"b":"c\x"}]}}"#).failure?.code == .invalidJSON)
        #expect(envelopeResult(bytes(#"{"payload":"a"#) + [0xFF] + bytes(#""}"#)).failure?.code == .invalidUTF8)
        #expect(envelopeResult(#"{"payload":[1,]}"#).failure?.offset == 14)
    }
}
