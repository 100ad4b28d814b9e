namespace VllmSharp.Cli.BenchServe;

/// <summary>
/// Seeded filler text for when no tokenizer vocabulary is at hand (server-side tokenizer or none): common English
/// words, so any tokenizer cuts them into ordinary tokens.
/// </summary>
public static class RandomWords
{
    private static readonly string[] Words =
    [
        "time", "person", "year", "way", "day", "thing", "man", "world", "life", "hand", "part", "child", "eye", "woman",
        "place", "work", "week", "case", "point", "government", "company", "number", "group", "problem", "fact", "be",
        "have", "do", "say", "get", "make", "go", "know", "take", "see", "come", "think", "look", "want", "give", "use",
        "find", "tell", "ask", "seem", "feel", "try", "leave", "call", "good", "new", "first", "last", "long", "great",
        "little", "own", "other", "old", "right", "big", "high", "different", "small", "large", "next", "early", "young",
        "important", "few", "public", "bad", "same", "able", "to", "of", "in", "for", "on", "with", "at", "by", "from",
        "up", "about", "into", "over", "after", "river", "mountain", "engine", "paper", "music", "garden", "window",
        "stone", "light", "water", "story", "market", "letter", "animal", "color", "summer", "winter", "city", "road",
    ];

    public static string Next(Random random, int count)
    {
        var words = new string[count];
        for (int i = 0; i < count; i++) words[i] = Words[random.Next(Words.Length)];
        return string.Join(' ', words);
    }
}
