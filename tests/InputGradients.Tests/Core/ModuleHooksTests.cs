using InputGradients.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace InputGradients.Tests.Core;

public class ModuleHooksTests
{
    [Fact]
    public void Hooks_are_seen_while_registered_and_not_after()
    {
        using var conv = nn.Conv2d(1, 1, 3);
        Assert.False(ModuleHooks.HasAny(conv)); // fails too if TorchSharp's hook tables were not found
        var forward = conv.register_forward_hook((m, x, y) => y);
        Assert.True(ModuleHooks.HasAny(conv));
        forward.remove();
        Assert.False(ModuleHooks.HasAny(conv));
        var pre = conv.register_forward_pre_hook((m, x) => x);
        Assert.True(ModuleHooks.HasAny(conv));
        pre.remove();
        Assert.False(ModuleHooks.HasAny(conv));
    }
}
