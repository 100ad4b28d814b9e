namespace VllmSharp.Engine.Tokenization.ChatTemplates;

/// <summary>
/// A variable scope. Like @huggingface/jinja: <c>for</c> bodies and macro calls get a child
/// scope, <c>if</c> does not; <c>set</c> writes to the current scope; lookups walk up the chain.
/// </summary>
internal sealed class TemplateScope(TemplateScope? parent)
{
    private readonly Dictionary<string, object?> _variables = new(StringComparer.Ordinal);

    public TemplateScope? Parent { get; } = parent;

    public void Set(string name, object? value) => _variables[name] = value;

    public object? Lookup(string name)
    {
        for (TemplateScope? scope = this; scope is not null; scope = scope.Parent)
        {
            if (scope._variables.TryGetValue(name, out object? value))
            {
                return value;
            }
        }

        return TemplateUndefined.Instance;
    }
}
