using System.Text;

namespace VllmSharp.Engine.Tokenization.ChatTemplates;

/// <summary>
/// Walks the syntax tree and renders it with @huggingface/jinja's semantics (the reference our
/// output must match byte for byte). Statements are here; expressions in the other part.
/// </summary>
internal sealed partial class TemplateInterpreter
{
    private readonly string _source;

    public TemplateInterpreter(string source)
    {
        _source = source;
    }

    private sealed class BreakSignal : Exception;

    private sealed class ContinueSignal : Exception;

    public string Render(List<TemplateNode> body, TemplateScope scope)
    {
        var sb = new StringBuilder();
        RenderBlock(body, scope, sb);
        return sb.ToString();
    }

    private ChatTemplateException Error(TemplateNode node, string message) =>
        new($"Chat template error at {TemplateLexer.Where(_source, node.Offset)}: {message}");

    private string RenderToString(List<TemplateNode> body, TemplateScope scope)
    {
        var sb = new StringBuilder();
        RenderBlock(body, scope, sb);
        return sb.ToString();
    }

    private void RenderBlock(List<TemplateNode> body, TemplateScope scope, StringBuilder sb)
    {
        foreach (TemplateNode node in body)
        {
            switch (node)
            {
                case TextNode text:
                    sb.Append(text.Text);
                    break;
                case OutputNode output:
                    object? value = Evaluate(output.Expression, scope);
                    if (value is not null and not TemplateUndefined)
                    {
                        sb.Append(TemplateValues.Display(value));
                    }

                    break;
                case IfNode ifNode:
                    RenderBlock(TemplateValues.IsTruthy(Evaluate(ifNode.Test, scope)) ? ifNode.Body : ifNode.Else, scope, sb);
                    break;
                case ForNode forNode:
                    RenderFor(forNode, scope, sb);
                    break;
                case SetNode set:
                    ExecuteSet(set, scope);
                    break;
                case MacroNode macro:
                    scope.Set(macro.Name, MakeMacro(macro.Name, macro.Parameters, macro.Body, macro.UsesKwargs, macro.UsesVarargs, null));
                    break;
                case CallBlockNode call:
                    sb.Append(TemplateValues.Display(ExecuteCallBlock(call, scope)));
                    break;
                case FilterBlockNode filter:
                    sb.Append(TemplateValues.Display(ApplyFilter(RenderToString(filter.Body, scope), filter.Filter, scope)));
                    break;
                case BreakNode:
                    throw new BreakSignal();
                case ContinueNode:
                    throw new ContinueSignal();
                default:
                    throw Error(node, $"unsupported node {node.GetType().Name}");
            }
        }
    }

    private void RenderFor(ForNode node, TemplateScope outer, StringBuilder sb)
    {
        var scope = new TemplateScope(outer);
        TemplateNode iterableNode = node.Iterable;
        TemplateNode? filterTest = null;
        if (iterableNode is TernaryNode { IfFalse: null } select)
        {
            // "for x in xs if cond": HF evaluates cond per item with the loop variable bound.
            iterableNode = select.IfTrue;
            filterTest = select.Condition;
        }

        object? iterable = Evaluate(iterableNode, scope);
        List<object?> source = iterable switch
        {
            List<object?> list => list,
            OrderedDictionary<string, object?> dict => new List<object?>(dict.Keys),
            _ => throw Error(node, $"Expected iterable or object type in for loop: got {TemplateValues.TypeName(iterable)}"),
        };

        var items = new List<object?>(source.Count);
        foreach (object? item in source)
        {
            if (filterTest is not null)
            {
                var testScope = new TemplateScope(scope);
                BindLoopTarget(node, node.Target, item, testScope);
                if (!TemplateValues.IsTruthy(Evaluate(filterTest, testScope)))
                {
                    continue;
                }
            }

            items.Add(item);
        }

        bool iterated = false;
        for (int i = 0; i < items.Count; i++)
        {
            var loop = new OrderedDictionary<string, object?>
            {
                ["index"] = (long)(i + 1),
                ["index0"] = (long)i,
                ["revindex"] = (long)(items.Count - i),
                ["revindex0"] = (long)(items.Count - i - 1),
                ["first"] = i == 0,
                ["last"] = i == items.Count - 1,
                ["length"] = (long)items.Count,
                ["previtem"] = i > 0 ? items[i - 1] : TemplateUndefined.Instance,
                ["nextitem"] = i < items.Count - 1 ? items[i + 1] : TemplateUndefined.Instance,
            };
            scope.Set("loop", loop);
            BindLoopTarget(node, node.Target, items[i], scope);
            int mark = sb.Length;
            try
            {
                RenderBlock(node.Body, scope, sb);
            }
            catch (ContinueSignal)
            {
                // HF renders an iteration into its own buffer and drops it on continue/break.
                sb.Length = mark;
                continue;
            }
            catch (BreakSignal)
            {
                sb.Length = mark;
                break;
            }

            iterated = true;
        }

        if (!iterated)
        {
            RenderBlock(node.Else, scope, sb);
        }
    }

    private void BindLoopTarget(TemplateNode node, TemplateNode target, object? item, TemplateScope scope)
    {
        if (target is NameNode name)
        {
            scope.Set(name.Name, item);
            return;
        }

        var names = ((ListNode)target).Items;
        if (item is not List<object?> values || (item is TemplateTuple && node is ForNode))
        {
            throw Error(node, $"Cannot unpack non-iterable type: {TemplateValues.TypeName(item)}");
        }

        if (values.Count != names.Count)
        {
            throw Error(node, $"Too {(names.Count > values.Count ? "few" : "many")} items to unpack");
        }

        for (int i = 0; i < names.Count; i++)
        {
            scope.Set(names[i] is NameNode n ? n.Name : throw Error(node, "Cannot unpack to a non-identifier"), values[i]);
        }
    }

    private void ExecuteSet(SetNode node, TemplateScope scope)
    {
        object? value = node.Value is not null ? Evaluate(node.Value, scope) : RenderToString(node.Body, scope);
        switch (node.Target)
        {
            case NameNode name:
                scope.Set(name.Name, value);
                break;
            case ListNode { IsTuple: true } tuple:
                BindLoopTarget(node, tuple, value, scope);
                break;
            case MemberNode { Computed: false, Property: NameNode property } member:
                if (Evaluate(member.Target, scope) is not TemplateNamespace ns)
                {
                    throw Error(node, "cannot assign attribute on non-namespace object");
                }

                ns.Values[property.Name] = value;
                break;
            default:
                throw Error(node, "Invalid left-hand side of set");
        }
    }

    private TemplateFunction MakeMacro(string name, List<TemplateNode> parameters, List<TemplateNode> body, bool usesKwargs, bool usesVarargs, TemplateScope? definitionScope)
    {
        return (args, callerScope) =>
        {
            // HF macros see the caller's scope (dynamic scoping), call-block bodies their definition scope.
            var scope = new TemplateScope(definitionScope ?? callerScope);
            var positional = new List<object?>(args);
            var kwargs = new OrderedDictionary<string, object?>();
            if (positional.Count > 0 && positional[^1] is TemplateKwargs kw)
            {
                positional.RemoveAt(positional.Count - 1);
                foreach (KeyValuePair<string, object?> pair in kw.Values)
                {
                    kwargs[pair.Key] = pair.Value;
                }
            }

            var pending = new List<(string, TemplateNode)>();
            for (int i = 0; i < parameters.Count; i++)
            {
                (string pname, TemplateNode? defaultValue) = parameters[i] switch
                {
                    NameNode n => (n.Name, (TemplateNode?)null),
                    KeywordArgNode k => (k.Name, k.Value),
                    _ => throw new ChatTemplateException($"invalid parameter in macro {name}"),
                };
                object? value = TemplateUndefined.Instance;
                bool given = false;
                if (i < positional.Count)
                {
                    value = positional[i];
                    given = true;
                }
                else if (kwargs.Remove(pname, out object? kv))
                {
                    value = kv;
                    given = true;
                }

                if (!given && defaultValue is not null)
                {
                    pending.Add((pname, defaultValue));
                }

                scope.Set(pname, value);
            }

            if (usesKwargs)
            {
                scope.Set("kwargs", kwargs);
            }
            else if (kwargs.Count > 0)
            {
                throw new ChatTemplateException($"macro '{name}' takes no keyword argument '{kwargs.GetAt(0).Key}'");
            }

            if (usesVarargs)
            {
                scope.Set("varargs", positional.Count > parameters.Count ? positional.GetRange(parameters.Count, positional.Count - parameters.Count) : new List<object?>());
            }
            else if (positional.Count > parameters.Count)
            {
                throw new ChatTemplateException($"macro '{name}' takes not more than {parameters.Count} argument(s)");
            }

            foreach ((string pname, TemplateNode defaultValue) in pending)
            {
                scope.Set(pname, Evaluate(defaultValue, scope));
            }

            return RenderToString(body, scope);
        };
    }

    private object? ExecuteCallBlock(CallBlockNode node, TemplateScope scope)
    {
        TemplateFunction caller = MakeMacro("caller", node.CallerParameters ?? [], node.Body, node.UsesKwargs, node.UsesVarargs, scope);
        (List<object?> args, OrderedDictionary<string, object?> kwargs) = EvaluateArguments(node.Call.Arguments, scope);
        args.Add(new TemplateKwargs(kwargs));
        if (Evaluate(node.Call.Callee, scope) is not TemplateFunction fn)
        {
            throw Error(node, "Cannot call something that is not a function");
        }

        var callScope = new TemplateScope(scope);
        callScope.Set("caller", caller);
        return fn(args, callScope);
    }
}
