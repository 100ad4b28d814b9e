namespace VllmSharp.Engine.Tokenization.ChatTemplates;

internal sealed partial class TemplateInterpreter
{
    private object? Evaluate(TemplateNode node, TemplateScope scope)
    {
        try
        {
            return EvaluateCore(node, scope);
        }
        catch (ChatTemplateException)
        {
            throw;
        }
        catch (Exception ex) when (ex is not BreakSignal and not ContinueSignal)
        {
            throw Error(node, ex.Message);
        }
    }

    private object? EvaluateCore(TemplateNode node, TemplateScope scope)
    {
        switch (node)
        {
            case LiteralNode literal:
                return literal.Value;
            case NameNode name:
                return scope.Lookup(name.Name);
            case ListNode list:
                List<object?> items = list.IsTuple ? new TemplateTuple(list.Items.Count) : new List<object?>(list.Items.Count);
                foreach (TemplateNode item in list.Items)
                {
                    items.Add(Evaluate(item, scope));
                }

                return items;
            case DictNode dict:
                var result = new OrderedDictionary<string, object?>();
                foreach ((TemplateNode keyNode, TemplateNode valueNode) in dict.Entries)
                {
                    if (Evaluate(keyNode, scope) is not string key)
                    {
                        throw Error(keyNode, "Object keys must be strings");
                    }

                    result[key] = Evaluate(valueNode, scope);
                }

                return result;
            case MemberNode member:
                return EvaluateMember(member, scope);
            case CallNode call:
                {
                    (List<object?> args, OrderedDictionary<string, object?> kwargs) = EvaluateArguments(call.Arguments, scope);
                    if (kwargs.Count > 0)
                    {
                        args.Add(new TemplateKwargs(kwargs));
                    }

                    object? fn = Evaluate(call.Callee, scope);
                    if (fn is not TemplateFunction function)
                    {
                        throw Error(node, call.Callee switch
                        {
                            NameNode n => $"unsupported function '{n.Name}' ('{n.Name}' is {TemplateValues.TypeName(fn)}, not a function)",
                            MemberNode { Computed: false, Property: NameNode p } m =>
                                $"unsupported method '{p.Name}' on {TemplateValues.TypeName(Evaluate(m.Target, scope))}",
                            _ => $"Cannot call something that is not a function: got {TemplateValues.TypeName(fn)}",
                        });
                    }

                    return function(args, scope);
                }

            case UnaryNode unary:
                {
                    object? operand = Evaluate(unary.Operand, scope);
                    if (unary.Operator == "not")
                    {
                        return !TemplateValues.IsTruthy(operand);
                    }

                    int sign = unary.Operator == "-" ? -1 : 1;
                    return operand switch
                    {
                        long l => (object)(sign * l),
                        double d => sign * d,
                        bool b => (long)(sign * (b ? 1 : 0)),
                        _ => throw Error(node, $"Unknown operator \"{unary.Operator}\" for {TemplateValues.TypeName(operand)}"),
                    };
                }

            case BinaryNode binary:
                return EvaluateBinary(binary, scope);
            case FilterNode filter:
                return ApplyFilter(Evaluate(filter.Operand, scope), filter.Name, filter.Arguments, scope, filter);
            case TestNode test:
                {
                    object? operand = Evaluate(test.Operand, scope);
                    bool value = TemplateBuiltins.Test(test.Name, operand, null) ?? throw Error(node, $"Unknown test: {test.Name}");
                    return test.Negate ? !value : value;
                }

            case TernaryNode ternary:
                if (TemplateValues.IsTruthy(Evaluate(ternary.Condition, scope)))
                {
                    return Evaluate(ternary.IfTrue, scope);
                }

                return ternary.IfFalse is null ? TemplateUndefined.Instance : Evaluate(ternary.IfFalse, scope);
            default:
                throw Error(node, $"unsupported expression {node.GetType().Name}");
        }
    }

    private (List<object?> Args, OrderedDictionary<string, object?> Kwargs) EvaluateArguments(List<TemplateNode> nodes, TemplateScope scope)
    {
        var args = new List<object?>();
        var kwargs = new OrderedDictionary<string, object?>();
        foreach (TemplateNode node in nodes)
        {
            if (node is SpreadNode { Keywords: false } spread)
            {
                if (Evaluate(spread.Value, scope) is not List<object?> list)
                {
                    throw Error(node, "Cannot unpack non-iterable type");
                }

                args.AddRange(list);
            }
            else if (node is not KeywordArgNode and not SpreadNode)
            {
                args.Add(Evaluate(node, scope));
            }
        }

        foreach (TemplateNode node in nodes)
        {
            if (node is KeywordArgNode kw)
            {
                if (!kwargs.TryAdd(kw.Name, Evaluate(kw.Value, scope)))
                {
                    throw Error(node, $"Got multiple values for keyword argument '{kw.Name}'");
                }
            }
            else if (node is SpreadNode { Keywords: true } spread)
            {
                if (Evaluate(spread.Value, scope) is not OrderedDictionary<string, object?> dict)
                {
                    throw Error(node, "Argument after ** must be a mapping");
                }

                foreach (KeyValuePair<string, object?> pair in dict)
                {
                    if (!kwargs.TryAdd(pair.Key, pair.Value))
                    {
                        throw Error(node, $"Got multiple values for keyword argument '{pair.Key}'");
                    }
                }
            }
        }

        return (args, kwargs);
    }

    private object? EvaluateMember(MemberNode member, TemplateScope scope)
    {
        object? target = Evaluate(member.Target, scope);
        object? property;
        if (member.Computed)
        {
            if (member.Property is SliceNode slice)
            {
                return EvaluateSlice(target, slice, scope);
            }

            property = Evaluate(member.Property, scope);
        }
        else
        {
            property = member.Property is NameNode name ? name.Name : ((LiteralNode)member.Property).Value;
        }

        return TemplateBuiltins.GetMember(target, property);
    }

    private object? EvaluateSlice(object? target, SliceNode slice, TemplateScope scope)
    {
        long? Part(TemplateNode? node) => node is null ? null : Evaluate(node, scope) switch
        {
            long l => l,
            TemplateUndefined => null,
            _ => throw Error(slice, "Slice indices must be integers"),
        };

        long? start = Part(slice.Start);
        long? stop = Part(slice.Stop);
        long step = Part(slice.Step) ?? 1;
        if (target is List<object?> list)
        {
            var result = new List<object?>();
            foreach (int i in SliceIndices(list.Count, start, stop, step))
            {
                result.Add(list[i]);
            }

            return result;
        }

        if (target is string s)
        {
            // HF slices by code point (Array.from), not by UTF-16 unit.
            var points = new List<string>();
            for (int i = 0; i < s.Length; i += char.IsSurrogatePair(s, i) ? 2 : 1)
            {
                points.Add(s.Substring(i, char.IsSurrogatePair(s, i) ? 2 : 1));
            }

            var sb = new System.Text.StringBuilder();
            foreach (int i in SliceIndices(points.Count, start, stop, step))
            {
                sb.Append(points[i]);
            }

            return sb.ToString();
        }

        throw Error(slice, "Slice object must be an array or string");
    }

    private static IEnumerable<int> SliceIndices(int length, long? start, long? stop, long step)
    {
        if (step == 0)
        {
            throw new ChatTemplateException("slice step cannot be zero");
        }

        long first;
        long last;
        if (step > 0)
        {
            first = start is long a ? (a < 0 ? Math.Max(length + a, 0) : Math.Min(a, length)) : 0;
            last = stop is long b ? (b < 0 ? Math.Max(length + b, 0) : Math.Min(b, length)) : length;
            for (long i = first; i < last; i += step)
            {
                yield return (int)i;
            }
        }
        else
        {
            first = start is long a ? (a < 0 ? Math.Max(length + a, -1) : Math.Min(a, length - 1)) : length - 1;
            last = stop is long b ? (b < -1 ? Math.Max(length + b, -1) : Math.Min(b, length - 1)) : -1;
            for (long i = first; i > last; i += step)
            {
                yield return (int)i;
            }
        }
    }

    private object? EvaluateBinary(BinaryNode node, TemplateScope scope)
    {
        object? left = Evaluate(node.Left, scope);
        if (node.Operator == "and")
        {
            return TemplateValues.IsTruthy(left) ? Evaluate(node.Right, scope) : left;
        }

        if (node.Operator == "or")
        {
            return TemplateValues.IsTruthy(left) ? left : Evaluate(node.Right, scope);
        }

        object? right = Evaluate(node.Right, scope);
        string op = node.Operator;
        if (op == "==")
        {
            return TemplateValues.LooseEquals(left, right);
        }

        if (op == "!=")
        {
            return !TemplateValues.LooseEquals(left, right);
        }

        if (left is TemplateUndefined || right is TemplateUndefined)
        {
            if (right is TemplateUndefined && op is "in" or "not in")
            {
                return op == "not in";
            }

            throw Error(node, $"Cannot perform operation {op} on undefined values");
        }

        if (left is null || right is null)
        {
            throw Error(node, $"Cannot perform operation {op} on null values");
        }

        if (op == "~")
        {
            return TemplateValues.JsString(left) + TemplateValues.JsString(right);
        }

        if (op == "**" && left is long or double or bool && right is long or double or bool)
        {
            double a = TemplateValues.ToDouble(left);
            double b = TemplateValues.ToDouble(right);
            double r = Math.Pow(a, b);
            return left is double || right is double || b < 0 ? r : (object)(long)r;
        }

        if (left is long or double && right is long or double)
        {
            bool isFloat = left is double || right is double;
            if (!isFloat && op is "+" or "-" or "*" or "//" or "%")
            {
                long a = (long)left;
                long b = (long)right;
                return op switch
                {
                    "+" => a + b,
                    "-" => a - b,
                    "*" => a * b,
                    "//" => (long)Math.Floor((double)a / b),
                    _ => a % b,
                };
            }

            double x = TemplateValues.ToDouble(left);
            double y = TemplateValues.ToDouble(right);
            switch (op)
            {
                case "+": return x + y;
                case "-": return x - y;
                case "*": return x * y;
                case "/": return x / y;
                case "//": return Math.Floor(x / y);
                case "%": return x % y;
                case "<": return x < y;
                case ">": return x > y;
                case "<=": return x <= y;
                case ">=": return x >= y;
            }
        }
        else if (left is List<object?> la && right is List<object?> lb)
        {
            if (op == "+")
            {
                var joined = new List<object?>(la);
                joined.AddRange(lb);
                return joined;
            }
        }
        else if (right is List<object?> haystack && op is "in" or "not in")
        {
            bool found = false;
            foreach (object? item in haystack)
            {
                if (TemplateValues.StrictEquals(item, left))
                {
                    found = true;
                    break;
                }
            }

            return op == "in" ? found : !found;
        }

        if ((left is string || right is string) && op == "+")
        {
            return TemplateValues.JsString(left) + TemplateValues.JsString(right);
        }

        if (left is string ls && right is string rs && op is "in" or "not in")
        {
            return rs.Contains(ls, StringComparison.Ordinal) == (op == "in");
        }

        if (left is string key && right is OrderedDictionary<string, object?> dict && op is "in" or "not in")
        {
            return dict.ContainsKey(key) == (op == "in");
        }

        throw Error(node, $"Unknown operator \"{op}\" between {TemplateValues.TypeName(left)} and {TemplateValues.TypeName(right)}");
    }
}
