/// Why a body was rejected by ``EnvelopeScanner``.
///
/// `message` is a human sentence naming the problem and where it was found
/// (for example `"expected ',' or '}' after an object member at byte 57, found 'x'"`),
/// suitable for the `detail` of a problem+json response. Programs branch on ``code``
/// (and ``field``), never on the message text.
public struct EnvelopeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The class of problem: an opaque code, so adding a code breaks no `switch`.
    ///
    /// Compare with the static members, for example `error.code == .invalidUTF8`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: UInt8, Hashable, Sendable {
            case emptyBody, invalidJSON, invalidUTF8, trailingData, tooDeep
            case notAnObject, notAnArray, missingPayload, wrongFieldType, duplicateField, unknownField
        }

        private let base: Base

        private init(_ base: Base) { self.base = base }

        /// The body is empty or contains only JSON whitespace.
        public static let emptyBody = Code(.emptyBody)
        /// The body is not RFC 8259 JSON (grammar, escapes, surrogates, control characters, byte order mark).
        public static let invalidJSON = Code(.invalidJSON)
        /// The body contains bytes that are not well-formed UTF-8 (inside or outside strings).
        public static let invalidUTF8 = Code(.invalidUTF8)
        /// Something other than whitespace follows the top-level value.
        public static let trailingData = Code(.trailingData)
        /// Objects and arrays nest deeper than the allowed maximum depth.
        public static let tooDeep = Code(.tooDeep)
        /// The envelope's top-level value is not a JSON object.
        public static let notAnObject = Code(.notAnObject)
        /// A batch body's top-level value is not a JSON array.
        public static let notAnArray = Code(.notAnArray)
        /// The envelope has no `payload` member.
        public static let missingPayload = Code(.missingPayload)
        /// An envelope field has a JSON type it may not have (``EnvelopeError/field`` names it).
        public static let wrongFieldType = Code(.wrongFieldType)
        /// An envelope field appears more than once (``EnvelopeError/field`` names it).
        public static let duplicateField = Code(.duplicateField)
        /// The envelope has a top-level member that is not an envelope field (``EnvelopeError/field`` names it).
        public static let unknownField = Code(.unknownField)

        /// The code's name, for example `"invalidJSON"`.
        public var description: String {
            switch base {
            case .emptyBody: "emptyBody"
            case .invalidJSON: "invalidJSON"
            case .invalidUTF8: "invalidUTF8"
            case .trailingData: "trailingData"
            case .tooDeep: "tooDeep"
            case .notAnObject: "notAnObject"
            case .notAnArray: "notAnArray"
            case .missingPayload: "missingPayload"
            case .wrongFieldType: "wrongFieldType"
            case .duplicateField: "duplicateField"
            case .unknownField: "unknownField"
            }
        }
    }

    /// The class of problem.
    public var code: Code
    /// A human sentence naming the problem and where it was found.
    public var message: String
    /// The envelope field concerned, when there is one (`"team"`, `"payload"`, or the name of an unknown field).
    public var field: String?
    /// The byte offset in the input where the problem was found, when there is one.
    public var offset: Int?

    /// Creates an error; the scanner is the usual source of these.
    /// - Parameters:
    ///   - code: The class of problem.
    ///   - message: A human sentence naming the problem and where.
    ///   - field: The envelope field concerned, if any.
    ///   - offset: The byte offset of the problem in the input, if any.
    public init(code: Code, message: String, field: String? = nil, offset: Int? = nil) {
        self.code = code
        self.message = message
        self.field = field
        self.offset = offset
    }

    /// `"<code>: <message>"`, for logs.
    public var description: String { "\(code): \(message)" }
}
