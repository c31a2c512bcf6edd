/// A projection that keeps a search index in its store: a search spec, or a plugin that emits
/// documents. The server and the CLI search any of them.
public protocol SearchIndexed {
    /// The index as this definition builds it; nil when this one keeps none.
    var searchSpec: SearchSpec? { get }
}
