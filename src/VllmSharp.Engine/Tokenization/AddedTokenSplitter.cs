namespace VllmSharp.Engine.Tokenization;

/// <summary>
/// Finds added tokens in raw input text, leftmost-longest like Hugging Face's added vocabulary,
/// honouring <c>lstrip</c>/<c>rstrip</c> (swallow neighbouring whitespace) and <c>single_word</c>.
/// Matching happens before normalization; tokens marked <c>normalized</c> are rare in chat models
/// and are matched on the raw text too.
/// </summary>
internal sealed class AddedTokenSplitter
{
    private readonly Dictionary<char, AddedToken[]> _byFirstChar = [];

    public AddedTokenSplitter(IEnumerable<AddedToken> tokens)
    {
        var groups = new Dictionary<char, List<AddedToken>>();
        foreach (AddedToken token in tokens)
        {
            if (token.Content.Length == 0)
            {
                continue;
            }

            if (!groups.TryGetValue(token.Content[0], out List<AddedToken>? list))
            {
                groups[token.Content[0]] = list = [];
            }

            list.Add(token);
        }

        foreach ((char first, List<AddedToken> list) in groups)
        {
            // Longest first, so the first hit at a position is the leftmost-longest match.
            list.Sort(static (a, b) => b.Content.Length.CompareTo(a.Content.Length));
            _byFirstChar[first] = [.. list];
        }
    }

    /// <summary>
    /// Splits <paramref name="text"/> into plain-text segments (TokenId -1) and added tokens.
    /// Empty plain segments are dropped; Start is the segment's offset in the input.
    /// </summary>
    public void Split(string text, List<(string Text, int TokenId, int Start)> output)
    {
        if (_byFirstChar.Count == 0)
        {
            if (text.Length > 0)
            {
                output.Add((text, -1, 0));
            }

            return;
        }

        int plainStart = 0;
        int i = 0;
        while (i < text.Length)
        {
            AddedToken? hit = _byFirstChar.TryGetValue(text[i], out AddedToken[]? candidates) ? FindMatch(text, i, candidates) : null;
            if (hit is null)
            {
                i++;
                continue;
            }

            int start = i;
            int end = i + hit.Content.Length;
            if (hit.LStrip)
            {
                while (start > plainStart && char.IsWhiteSpace(text[start - 1]))
                {
                    start--;
                }
            }

            if (hit.RStrip)
            {
                while (end < text.Length && char.IsWhiteSpace(text[end]))
                {
                    end++;
                }
            }

            if (start > plainStart)
            {
                output.Add((text[plainStart..start], -1, plainStart));
            }

            output.Add((hit.Content, hit.Id, start));
            plainStart = i = end;
        }

        if (plainStart < text.Length)
        {
            output.Add((text[plainStart..], -1, plainStart));
        }
    }

    private static AddedToken? FindMatch(string text, int position, AddedToken[] candidates)
    {
        ReadOnlySpan<char> rest = text.AsSpan(position);
        foreach (AddedToken token in candidates)
        {
            if (!rest.StartsWith(token.Content, StringComparison.Ordinal))
            {
                continue;
            }

            if (token.SingleWord && !IsWholeWord(text, position, position + token.Content.Length))
            {
                continue;
            }

            return token;
        }

        return null;
    }

    private static bool IsWholeWord(string text, int start, int end) =>
        (start == 0 || !char.IsLetterOrDigit(text[start - 1]) || !char.IsLetterOrDigit(text[start]))
        && (end == text.Length || !char.IsLetterOrDigit(text[end]) || !char.IsLetterOrDigit(text[end - 1]));
}
