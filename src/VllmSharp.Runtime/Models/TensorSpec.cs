namespace VllmSharp.Runtime.Models;

/// <summary>One tensor a checkpoint of a given architecture holds: its Hugging Face name, shape and role.</summary>
public sealed record TensorSpec(string Name, long[] Shape, TensorRole Role)
{
    /// <summary>Number of elements (product of the shape).</summary>
    public long ElementCount
    {
        get
        {
            long n = 1;
            foreach (long d in Shape) n *= d;
            return n;
        }
    }
}
