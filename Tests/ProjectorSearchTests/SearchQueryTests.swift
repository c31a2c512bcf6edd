import ProjectorSearch
import Testing

@Suite struct SearchQueryTests {
    @Test func wordsAreAndedAndTheLastIsAPrefix() {
        #expect(SearchQuery(parsing: "text edit").matchExpression() == #""text" "edit"*"#)
        #expect(SearchQuery(parsing: "text edit ").matchExpression() == #""text" "edit""#, "a trailing space ends the word")
    }

    @Test func phrasesExclusionsAndOr() {
        #expect(SearchQuery(parsing: #""text editor" -vim "#).matchExpression() == #"("text editor") NOT "vim""#)
        #expect(SearchQuery(parsing: "emacs OR vim editor ").matchExpression() == #"("emacs" OR "vim") "editor""#)
        #expect(SearchQuery(parsing: "NOT vim editor ").matchExpression() == #"("editor") NOT "vim""#)
    }

    @Test func fts5SyntaxInUserTextIsJustText() {
        #expect(SearchQuery(parsing: #"title:vim AND "#).matchExpression() == #""title:vim" "AND""#)
        #expect(SearchQuery(parsing: "it's ").matchExpression() == #""it's""#)
        #expect(SearchQuery(parsing: #"a"b"#).matchExpression() == #""a" "b""#, "an unclosed quote quotes the rest")
        #expect(SearchQuery(parsing: "* - ( ) 😀").matchExpression() == nil, "nothing indexable is left")
        #expect(SearchQuery(parsing: "").isEmpty)
    }

    @Test func aLongQueryIsCapped() {
        let query = SearchQuery(parsing: String(repeating: "word ", count: 5000))
        #expect(query.groups.count <= SearchQuery.maxTerms)
        #expect(query.termCount > SearchQuery.maxTerms, "the count checkLimits refuses")
    }
}
