using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using VllmSharp.Core.Errors;
using VllmSharp.Engine.Tokenization;
using VllmSharp.Server.Protocol;
using Xunit;

namespace VllmSharp.Server.Tests;

/// <summary>A prompt too large to fit the model is refused before it is tokenized.</summary>
public sealed class PromptLengthGuardTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A tokenizer whose longest token is 6 bytes and that must never be asked to encode.</summary>
    private sealed class FakeTokenizer : ITokenizer
    {
        private static readonly byte[][] s_tokens = [[.. "a"u8], [.. "abcdef"u8], [.. "xy"u8]];
        public int VocabSize => s_tokens.Length;
        public int? BosTokenId => null;
        public IReadOnlyList<int> EosTokenIds => [];
        public string? ChatTemplate => null;
        public int DecodeStripLeadingSpaces => 0;
        public IReadOnlyList<int> Encode(string text, bool addSpecialTokens = true) => throw new InvalidOperationException("must not tokenize");
        public string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens = true) => throw new InvalidOperationException();
        public bool IsSpecial(int id) => false;
        public string? IdToToken(int id) => null;
        public int? TokenToId(string token) => null;
        public ReadOnlySpan<byte> GetTokenBytes(int id) => s_tokens[id];
    }

    [Fact]
    public void Check_AtMostMaxModelLenTimesLongestToken_Passes_OneByteMore_Throws()
    {
        var guard = new PromptLengthGuard(new FakeTokenizer(), maxModelLen: 10);
        Assert.Equal(6, guard.MaxTokenBytes);
        guard.Check(new string('a', 60)); // 60 bytes could still be 10 six-byte tokens
        var e = Assert.Throws<ContextLengthExceededException>(() => guard.Check(new string('a', 61)));
        Assert.Equal("prompt", e.Parameter);
        Assert.Contains("maximum context length is 10 tokens", e.Message);
        // Bytes, not chars, count: 20 three-byte characters are 60 bytes (fits), 21 are 63 (cannot).
        guard.Check(new string('€', 20));
        Assert.Throws<ContextLengthExceededException>(() => guard.Check(new string('€', 21)));
    }

    [Theory]
    [InlineData("/v1/completions", false)]
    [InlineData("/v1/chat/completions", true)]
    public async Task TenMegabyteSingleWordPrompt_400Promptly_ServerStillAnswers(string path, bool chat)
    {
        // One 10 MB pre-token: tokenizing it would take tens of seconds of BPE merging; the guard answers at once.
        // The bound below only turns a hang into a failure; it is not a timing measurement.
        string word = new('a', 10 * 1024 * 1024);
        string json = chat
            ? "{\"messages\":[{\"role\":\"user\",\"content\":\"" + word + "\"}],\"max_tokens\":2}"
            : "{\"prompt\":\"" + word + "\",\"max_tokens\":2}";
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(15));
        using var response = await server.Http.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"), timeout.Token);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        JsonNode error = JsonNode.Parse(await response.Content.ReadAsStringAsync(timeout.Token))!["error"]!;
        Assert.Equal("prompt", (string?)error["param"]);
        Assert.Contains("maximum context length", (string?)error["message"]);

        using var ok = await server.Http.PostAsync("/v1/completions",
            new StringContent("""{"prompt":"still here","max_tokens":2,"ignore_eos":true}""", Encoding.UTF8, "application/json"), Ct);
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        await server.AssertEngineIdleAsync();
    }
}
