using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace VllmSharp.Core.KVCache;

/// <summary>
/// The identity of a full KV block's content for prefix caching: SHA-256 (truncated to 128 bits) over the parent
/// block's hash, the block's token ids and any extra keys (LoRA, multimodal inputs later). Chaining the parent
/// makes equal hashes mean equal whole prefixes, not just equal blocks.
/// </summary>
public readonly record struct BlockHash(UInt128 Value)
{
    /// <summary>Hash of the block holding <paramref name="tokenIds"/> after the prefix whose last block hash is <paramref name="parent"/>.</summary>
    public static BlockHash Compute(BlockHash? parent, ReadOnlySpan<int> tokenIds, ReadOnlySpan<byte> extraKeys = default)
    {
        int length = 17 + tokenIds.Length * sizeof(int) + extraKeys.Length;
        Span<byte> input = length <= 1024 ? stackalloc byte[length] : new byte[length];
        input[0] = parent is null ? (byte)0 : (byte)1;
        BinaryPrimitives.WriteUInt128LittleEndian(input[1..], parent?.Value ?? UInt128.Zero);
        MemoryMarshal.AsBytes(tokenIds).CopyTo(input[17..]);
        extraKeys.CopyTo(input[(17 + tokenIds.Length * sizeof(int))..]);
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(input, digest);
        return new BlockHash(BinaryPrimitives.ReadUInt128LittleEndian(digest));
    }
}
