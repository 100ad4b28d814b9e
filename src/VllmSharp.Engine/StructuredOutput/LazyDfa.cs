namespace VllmSharp.Engine.StructuredOutput;

/// <summary>
/// The subset construction of a <see cref="ByteNfa"/>, done lazily: a DFA state is created the first time a
/// transition reaches it, and each (state, byte) transition is computed once and then read from a flat table.
/// State 0 is the dead state (no NFA state left). Not thread-safe: <see cref="StructuredOutputGrammar"/> locks.
/// </summary>
internal sealed class LazyDfa
{
    public const int Dead = 0;
    // Each state holds a 1 KiB transition row; past this many the automaton stops growing (see Intern).
    private const int MaxStates = 100_000;

    private readonly ByteNfa _nfa;
    private readonly Dictionary<int[], int> _ids = new(new SetComparer());
    private readonly List<int[]> _sets = [];
    private readonly List<bool> _accepting = [];
    private int[] _transitions = new int[256 * 64];
    // Closure scratch: a state is in the current set when its stamp equals _stamp.
    private readonly int[] _stamps;
    private int _stamp;
    private readonly Stack<int> _work = new();
    private readonly List<int> _scratch = [];

    public LazyDfa(ByteNfa nfa)
    {
        _nfa = nfa;
        _stamps = new int[nfa.Count];
        Intern([]); // Dead
        _stamp++;
        AddClosure(nfa.Start);
        Start = Intern(TakeScratch());
    }

    public int Start { get; }
    public int StateCount => _sets.Count;

    public bool IsAccepting(int state) => _accepting[state];

    /// <summary>The state after <paramref name="b"/>, or <see cref="Dead"/>.</summary>
    public int Next(int state, byte b)
    {
        int t = _transitions[state * 256 + b];
        return t >= 0 ? t : Compute(state, b);
    }

    /// <summary>Whether any byte leads somewhere from <paramref name="state"/>.</summary>
    public bool HasTransitions(int state)
    {
        foreach (int s in _sets[state])
            if (_nfa.Kind[s] == ByteNfa.KindRange) return true;
        return false;
    }

    private int Compute(int state, byte b)
    {
        _stamp++;
        foreach (int s in _sets[state])
            if (_nfa.Kind[s] == ByteNfa.KindRange && b >= _nfa.Lo[s] && b <= _nfa.Hi[s]) AddClosure(_nfa.Next1[s]);
        int target = Intern(TakeScratch());
        _transitions[state * 256 + b] = target;
        return target;
    }

    // Adds the ε-closure of s; only byte-range and accepting states are kept, as they alone decide the future.
    private void AddClosure(int s)
    {
        _work.Push(s);
        while (_work.Count > 0)
        {
            int x = _work.Pop();
            if (x < 0 || _stamps[x] == _stamp) continue;
            _stamps[x] = _stamp;
            if (_nfa.Kind[x] == ByteNfa.KindEpsilon)
            {
                _work.Push(_nfa.Next2[x]);
                _work.Push(_nfa.Next1[x]);
            }
            else _scratch.Add(x);
        }
    }

    private int[] TakeScratch()
    {
        int[] set = [.. _scratch];
        _scratch.Clear();
        Array.Sort(set);
        return set;
    }

    private int Intern(int[] set)
    {
        if (_ids.TryGetValue(set, out int id)) return id;
        id = _sets.Count;
        // Growth happens while requests run, where throwing would fail the whole engine step: a state that cannot
        // be created is dead instead, so that request's mask allows only EOS and it ends there.
        if (id >= MaxStates) return Dead;
        _sets.Add(set);
        bool accepting = false;
        foreach (int s in set) accepting |= _nfa.Kind[s] == ByteNfa.KindAccept;
        _accepting.Add(accepting);
        _ids[set] = id;
        if ((id + 1) * 256 > _transitions.Length) Array.Resize(ref _transitions, _transitions.Length * 2);
        _transitions.AsSpan(id * 256, 256).Fill(id == Dead ? Dead : -1);
        return id;
    }

    private sealed class SetComparer : IEqualityComparer<int[]>
    {
        public bool Equals(int[]? x, int[]? y) => x.AsSpan().SequenceEqual(y);

        public int GetHashCode(int[] set)
        {
            var h = new HashCode();
            foreach (int s in set) h.Add(s);
            return h.ToHashCode();
        }
    }
}
