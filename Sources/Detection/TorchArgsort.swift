/// `torch.argsort(x, descending=True)` on the CPU exactly, ties included. PyTorch's default
/// (unstable) sort is libstdc++'s `std::sort` over (value, index) pairs: introsort with a
/// median-of-three pivot, a heapsort below depth 2 log2(n), and insertion sort for runs of at most 16.
/// Equal values therefore come out in an order that depends on the whole array, which matters where a
/// library sorts detections this way before NMS (yolov9's `non_max_suppression`): among boxes of equal
/// score, the first one is kept and suppresses the others. Checked against PyTorch 2.13 on 300
/// tie-heavy arrays of 5 to 10000 values (Tests/DetectionTests/TorchArgsortTests.swift).
public enum TorchArgsort {
    public static func argsortDescending(_ keys: [Float]) -> [Int] {
        var items = keys.indices.map { ($0, keys[$0]) }
        @inline(__always) func comp(_ a: (Int, Float), _ b: (Int, Float)) -> Bool { a.1 > b.1 }
        func moveMedianToFirst(_ result: Int, _ a: Int, _ b: Int, _ c: Int) {
            if comp(items[a], items[b]) {
                if comp(items[b], items[c]) { items.swapAt(result, b) }
                else if comp(items[a], items[c]) { items.swapAt(result, c) }
                else { items.swapAt(result, a) }
            } else if comp(items[a], items[c]) { items.swapAt(result, a) }
            else if comp(items[b], items[c]) { items.swapAt(result, c) }
            else { items.swapAt(result, b) }
        }
        func unguardedPartition(_ first: Int, _ last: Int, _ pivot: Int) -> Int {
            var (first, last) = (first, last)
            while true {
                while comp(items[first], items[pivot]) { first += 1 }
                last -= 1
                while comp(items[pivot], items[last]) { last -= 1 }
                if !(first < last) { return first }
                items.swapAt(first, last)
                first += 1
            }
        }
        func heapSort(_ first: Int, _ last: Int) {
            // std::__partial_sort(first, last, last): make_heap then sort_heap (max-heap by comp).
            let n = last - first
            func adjust(_ hole0: Int, _ len: Int, _ value: (Int, Float)) {
                var hole = hole0
                let top = hole0
                var child = hole
                while child < (len - 1) / 2 {
                    child = 2 * (child + 1)
                    if comp(items[first + child], items[first + child - 1]) { child -= 1 }
                    items[first + hole] = items[first + child]
                    hole = child
                }
                if len & 1 == 0 && child == (len - 2) / 2 {
                    child = 2 * (child + 1)
                    items[first + hole] = items[first + child - 1]
                    hole = child - 1
                }
                var parent = (hole - 1) / 2
                while hole > top && comp(items[first + parent], value) {
                    items[first + hole] = items[first + parent]
                    hole = parent
                    parent = (hole - 1) / 2
                }
                items[first + hole] = value
            }
            if n >= 2 {
                var parent = (n - 2) / 2
                while true {
                    adjust(parent, n, items[first + parent])
                    if parent == 0 { break }
                    parent -= 1
                }
            }
            var end = last
            while end - first > 1 {
                end -= 1
                let value = items[end]
                items[end] = items[first]
                adjust(0, end - first, value)
            }
        }
        func introsortLoop(_ first: Int, _ last0: Int, _ depth0: Int) {
            var (last, depth) = (last0, depth0)
            while last - first > 16 {
                if depth == 0 { heapSort(first, last); return }
                depth -= 1
                let mid = first + (last - first) / 2
                moveMedianToFirst(first, first + 1, mid, last - 1)
                let cut = unguardedPartition(first + 1, last, first)
                introsortLoop(cut, last, depth)
                last = cut
            }
        }
        func unguardedLinearInsert(_ position: Int) {
            let value = items[position]
            var last = position, next = position - 1
            while comp(value, items[next]) { items[last] = items[next]; last = next; next -= 1 }
            items[last] = value
        }
        func insertionSort(_ first: Int, _ last: Int) {
            guard first != last else { return }
            var i = first + 1
            while i != last {
                if comp(items[i], items[first]) {
                    let value = items[i]
                    var k = i
                    while k > first { items[k] = items[k - 1]; k -= 1 }
                    items[first] = value
                } else { unguardedLinearInsert(i) }
                i += 1
            }
        }
        let n = items.count
        guard n > 1 else { return items.map(\.0) }
        var lg = 0; while (1 << (lg + 1)) <= n { lg += 1 }
        introsortLoop(0, n, lg * 2)
        if n > 16 {
            insertionSort(0, 16)
            for i in 16..<n { unguardedLinearInsert(i) }
        } else { insertionSort(0, n) }
        return items.map(\.0)
    }
}
