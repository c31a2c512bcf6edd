import CHTMLText

/// HTML to plain text for indexing, with libxml2's forgiving HTML parser (via a small C
/// wrapper): `script`, `style`, `head` and friends are dropped, block elements break words,
/// entities come decoded, broken markup and odd bytes are recovered, never an error.
public enum HTMLText {
    /// The visible text of `html`, whitespace collapsed, blocks separated by newlines.
    public static func text(_ html: String) -> String {
        guard !html.isEmpty else { return "" }
        var copy = html
        return copy.withUTF8 { bytes -> String in
            var length = 0
            guard
                let text = bytes.withMemoryRebound(
                    to: CChar.self,
                    { chars in
                        projector_html_text(chars.baseAddress, chars.count, &length)
                    })
            else { return "" }
            defer { projector_html_text_free(text) }
            return text.withMemoryRebound(to: UInt8.self, capacity: length) { pointer in
                String(decoding: UnsafeBufferPointer(start: pointer, count: length), as: UTF8.self)
            }
        }
    }
}
