/// Which kind of container is open at each nesting depth: one bit per level (1 = object, 0 = array).
///
/// Depths 1...64 live in one inline word, so ordinary documents never allocate; deeper levels spill
/// into an array that grows one word per 64 levels actually reached. The scanner checks the depth
/// limit before every push, so the spill is bounded by `maxDepth / 8` bytes.
struct ContainerStack {
    private var inline: UInt64 = 0
    private var spill: [UInt64] = []

    /// Records the kind of the container opened at `depth` (1-based).
    @inline(__always)
    mutating func set(depth: Int, isObject: Bool) {
        if depth <= 64 {
            let bit = UInt64(1) << UInt64(depth &- 1)
            inline = isObject ? inline | bit : inline & ~bit
        } else {
            setSpilled(depth: depth, isObject: isObject)
        }
    }

    /// Whether the container open at `depth` (1-based) is an object.
    @inline(__always)
    func isObject(depth: Int) -> Bool {
        if depth <= 64 {
            return (inline >> UInt64(depth &- 1)) & 1 != 0
        }
        let index = (depth - 65) >> 6
        guard index < spill.count else { return false }
        return (spill[index] >> UInt64((depth - 65) & 63)) & 1 != 0
    }

    @inline(never)
    private mutating func setSpilled(depth: Int, isObject: Bool) {
        let index = (depth - 65) >> 6
        while spill.count <= index {
            spill.append(0)
        }
        let bit = UInt64(1) << UInt64((depth - 65) & 63)
        spill[index] = isObject ? spill[index] | bit : spill[index] & ~bit
    }
}
