using System.Collections;
using System.Collections.Concurrent;
using System.Reflection;
using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Core;

/// <summary>
/// Whether a module has forward hooks (registered by anyone, through <see cref="HookScope"/> or directly). A model
/// that takes a shortcut past a module's own <c>call()</c> (the backbone folding a batch norm into its convolution)
/// must not do so while someone listens to that module. TorchSharp does not expose its hook tables, so they are read
/// by reflection; if they cannot be found (another TorchSharp version), every module counts as hooked, which keeps
/// results right and only loses the shortcut (<c>ModuleHooksTests</c> would fail and say so).
/// </summary>
public static class ModuleHooks
{
    static readonly string[] Tables = ["pre_hooks", "post_hooks", "module_pre_hooks", "module_post_hooks"];

    // The hook-table fields of each module type, found once: models ask on every forward pass.
    static readonly ConcurrentDictionary<Type, FieldInfo[]> Fields = new();

    /// <summary>True when <paramref name="module"/> has any forward or forward-pre hook, or when that cannot be told.</summary>
    public static bool HasAny(nn.Module module)
    {
        var fields = Fields.GetOrAdd(module.GetType(), FindTables);
        if (fields.Length == 0) return true;
        foreach (var field in fields)
            if (field.GetValue(module) is ICollection { Count: > 0 }) return true;
        return false;
    }

    static FieldInfo[] FindTables(Type type)
    {
        var found = new List<FieldInfo>();
        for (var t = type; t is not null; t = t.BaseType)
            foreach (var name in Tables)
                if (t.GetField(name, BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.DeclaredOnly) is { } field)
                    found.Add(field);
        return found.ToArray();
    }
}
