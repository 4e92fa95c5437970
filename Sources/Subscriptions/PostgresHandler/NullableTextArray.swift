import NIOCore
import PostgresNIO

/// A `text[]` parameter whose elements may be NULL, in PostgreSQL's binary array format (PostgresNIO's arrays have no
/// optional elements): one per column of a batch statement.
struct NullableTextArray: PostgresNonThrowingEncodable, PostgresDynamicTypeEncodable {
    static var psqlType: PostgresDataType { .textArray }
    static var psqlFormat: PostgresFormat { .binary }

    var elements: [PostgresText?]

    func encode<JSONEncoder: PostgresJSONEncoder>(into buffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>) {
        // Dimensions, the has-nulls flag, the element type; then each dimension's length and lower bound.
        buffer.writeInteger(elements.isEmpty ? 0 : 1, as: Int32.self)
        buffer.writeInteger(elements.contains { $0 == nil } ? 1 : 0, as: Int32.self)
        buffer.writeInteger(PostgresDataType.text.rawValue)
        guard !elements.isEmpty else { return }
        buffer.writeInteger(Int32(clamping: elements.count), as: Int32.self)
        buffer.writeInteger(1, as: Int32.self)
        for element in elements {
            switch element {
            case .string(let text)?:
                buffer.writeInteger(Int32(clamping: text.utf8.count), as: Int32.self)
                buffer.writeString(text)
            case .bytes(let bytes)?:
                buffer.writeInteger(Int32(clamping: bytes.count), as: Int32.self)
                buffer.writeBytes(bytes)
            case nil:
                buffer.writeInteger(-1, as: Int32.self)
            }
        }
    }
}
