using VllmSharp.Core.KVCache;
using VllmSharp.Core.Sampling;

namespace VllmSharp.Core.Requests;

/// <summary>
/// One sequence as the engine core tracks it (vLLM v1's Request): its prompt and output token ids, how many
/// of its tokens already have K/V in the cache (<see cref="NumComputedTokens"/>), and the hashes of its full
/// blocks for prefix caching. A request with n &gt; 1 reaches the core as n requests sharing one prompt.
/// </summary>
public sealed class Request
{
    private readonly List<int> _allTokenIds;
    private readonly List<BlockHash> _blockHashes = [];
    private readonly int _blockSize;

    public Request(string requestId, IReadOnlyList<int> promptTokenIds, SamplingParams samplingParams, int maxTokens,
        IReadOnlyCollection<int> eosTokenIds, int blockSize, double arrivalTime, int priority = 0)
    {
        if (promptTokenIds.Count == 0) throw new ArgumentException("A request needs at least one prompt token.", nameof(promptTokenIds));
        RequestId = requestId;
        PromptTokenIds = promptTokenIds;
        SamplingParams = samplingParams;
        MaxTokens = maxTokens;
        EosTokenIds = eosTokenIds;
        _blockSize = blockSize;
        ArrivalTime = arrivalTime;
        Priority = priority;
        _allTokenIds = new List<int>(promptTokenIds.Count + Math.Min(maxTokens, 4096));
        _allTokenIds.AddRange(promptTokenIds);
        UpdateBlockHashes();
    }

    public string RequestId { get; }
    public IReadOnlyList<int> PromptTokenIds { get; }
    public SamplingParams SamplingParams { get; }
    /// <summary>Output tokens allowed (max_tokens, capped by the model's length).</summary>
    public int MaxTokens { get; }
    public IReadOnlyCollection<int> EosTokenIds { get; }
    public double ArrivalTime { get; }
    /// <summary>Lower values are served first under the priority policy (as vLLM).</summary>
    public int Priority { get; }

    public RequestStatus Status { get; set; } = RequestStatus.Waiting;
    /// <summary>Tokens whose K/V are in the cache (prefix-cache hits included).</summary>
    public int NumComputedTokens { get; set; }
    /// <summary>Prompt tokens served from the prefix cache when the request was first scheduled.</summary>
    public int NumCachedTokens { get; set; } = -1;
    public int NumPreemptions { get; set; }
    /// <summary>The token id or stop string that ended the request, when one did.</summary>
    public object? StopReason { get; set; }

    public IReadOnlyList<int> AllTokenIds => _allTokenIds;
    public int NumTokens => _allTokenIds.Count;
    public int NumPromptTokens => PromptTokenIds.Count;
    public int NumOutputTokens => _allTokenIds.Count - PromptTokenIds.Count;
    public IReadOnlyList<BlockHash> BlockHashes => _blockHashes;
    public bool IsFinished => Status.IsFinished();

    public int OutputTokenId(int index) => _allTokenIds[PromptTokenIds.Count + index];

    /// <summary>Tokens [start, start + count) of prompt-then-output, without copying.</summary>
    public ReadOnlySpan<int> TokenSpan(int start, int count)
        => System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_allTokenIds).Slice(start, count);

    public void AppendOutputToken(int tokenId)
    {
        _allTokenIds.Add(tokenId);
        UpdateBlockHashes();
    }

    /// <summary>Hashes every block that has become full since the last call.</summary>
    private void UpdateBlockHashes()
    {
        int full = _allTokenIds.Count / _blockSize;
        if (_blockHashes.Count == full) return;
        Span<int> tokens = _blockSize <= 256 ? stackalloc int[_blockSize] : new int[_blockSize];
        for (int block = _blockHashes.Count; block < full; block++)
        {
            for (int i = 0; i < _blockSize; i++) tokens[i] = _allTokenIds[block * _blockSize + i];
            BlockHash? parent = block == 0 ? null : _blockHashes[block - 1];
            _blockHashes.Add(BlockHash.Compute(parent, tokens));
        }
    }
}
