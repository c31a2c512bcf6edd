import ProjectorSearch
import Testing

@Suite struct HTMLTextTests {
    @Test func scriptStyleAndHeadAreDropped() {
        let text = HTMLText.text(
            """
            <html><head><title>T</title><style>p { color: red }</style></head>
            <body><script>alert("x")</script><p>visible</p><noscript>nojs</noscript></body></html>
            """)
        #expect(text == "visible")
    }

    @Test func entitiesAreDecoded() {
        #expect(HTMLText.text("<p>caf&eacute; &amp; cr&#232;me &lt;b&gt; &#x263A;&nbsp;ok</p>") == "café & crème <b> ☺ ok")
    }

    @Test func blocksSeparateWordsButInlineElementsDoNot() {
        #expect(HTMLText.text("<p>one</p><p>two</p><div>three<br>four</div><li>five</li>") == "one\ntwo\nthree\nfour\nfive")
        #expect(HTMLText.text("<p>un<b>break</b>able <i>words</i></p>") == "unbreakable words")
        #expect(HTMLText.text("<td>a</td><td>b</td>") == "a\nb")
    }

    @Test func brokenMarkupIsRecovered() {
        #expect(HTMLText.text("<p>unclosed <b>bold <i>both</p> after") == "unclosed bold both\nafter")
        #expect(HTMLText.text("<<<>>> text </div></div> <p").hasSuffix("text"))
        #expect(HTMLText.text("plain text, no tags") == "plain text, no tags")
        #expect(HTMLText.text("") == "")
        #expect(HTMLText.text("<script>only script") == "")
    }

    @Test func oddBytesAndDeepNestingNeverCrash() {
        #expect(HTMLText.text("a\u{0}b") == "a")
        let deep = String(repeating: "<div>", count: 20_000) + "deep" + String(repeating: "</div>", count: 20_000)
        #expect(HTMLText.text(deep).contains("deep") || HTMLText.text(deep).isEmpty)
        #expect(HTMLText.text("<p>emoji 😀 and ü</p>") == "emoji 😀 and ü")
    }
}
