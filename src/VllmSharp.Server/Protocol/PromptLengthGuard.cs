using System.Text;
using VllmSharp.Core.Errors;
using VllmSharp.Engine.Tokenization;

namespace VllmSharp.Server.Protocol;

/// <summary>
/// Refuses a prompt text that cannot fit the model before tokenizing it: every token stands for at most
/// <see cref="MaxTokenBytes"/> bytes of text, so a prompt of more than max_model_len × that many UTF-8 bytes needs more
/// than max_model_len tokens. Tokenizing a 10 MB single-word prompt first would cost tens of seconds of CPU for a
/// request that ends in the same 400 anyway.
/// </summary>
/// <remarks>
/// The bound is exact for byte-level BPE (tokens decode to exactly the input bytes). Tokenizers that turn several
/// unknown characters into one fused &lt;unk&gt; could in theory beat it; such a prompt is still refused only when it is
/// larger than max_model_len × the longest token, far beyond anything a model could read.
/// </remarks>
public sealed class PromptLengthGuard(ITokenizer tokenizer, int maxModelLen)
{
    private int _maxTokenBytes;

    /// <summary>The most UTF-8 bytes one token decodes to (at least 4, one full character), computed once.</summary>
    public int MaxTokenBytes
    {
        get
        {
            if (_maxTokenBytes == 0)
            {
                int longest = 4;
                for (int id = 0; id < tokenizer.VocabSize; id++) longest = Math.Max(longest, tokenizer.GetTokenBytes(id).Length);
                _maxTokenBytes = longest;
            }
            return _maxTokenBytes;
        }
    }

    /// <summary>Throws the same 400 as a too-long tokenized prompt when <paramref name="text"/> cannot fit in max_model_len tokens.</summary>
    public void Check(string text)
    {
        long limit = (long)maxModelLen * MaxTokenBytes;
        // A char is 1 to 3 UTF-8 bytes (a surrogate pair is 4 bytes for 2 chars): count bytes only when it matters.
        if ((long)text.Length * 3 <= limit) return;
        long bytes = text.Length > limit ? text.Length : Encoding.UTF8.GetByteCount(text);
        if (bytes <= limit) return;
        long atLeast = bytes / MaxTokenBytes;
        throw new ContextLengthExceededException(
            $"This model's maximum context length is {maxModelLen} tokens. However, your prompt has {bytes} bytes, which is "
          + $"at least {atLeast} tokens. Please reduce the length of the prompt.");
    }
}
