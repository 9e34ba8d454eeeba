using System.CommandLine;
using RepShift.Cli.Commands;

namespace RepShift.Tests;

/// <summary>The image commands offer only the options that mean something for a ViT, and refuse text presets.</summary>
public class ImageCommandOptionsTests
{
    private static string[] Names(Command c) => [.. c.Options.Select(o => o.Name)];

    [Theory]
    [InlineData("images")]
    [InlineData("classify")]
    public void Image_commands_leave_out_text_only_options(string which)
    {
        var command = which == "images" ? EvalImagesCommand.Create() : ClassifyCommand.Create();
        var names = Names(command);
        Assert.Contains("--model", names);
        Assert.Contains("--batch", names);
        Assert.Contains("--prune-at", names);
        foreach (var textOnly in new[] { "--max-tokens", "--batch-tokens", "--preset", "--pooling" })
            Assert.DoesNotContain(textOnly, names);
        Assert.Contains("ViT", command.Options.Single(o => o.Name == "--model").Description);
    }

    [Fact]
    public void Text_commands_keep_them()
    {
        var names = Names(EmbedCommand.Create());
        foreach (var o in new[] { "--max-tokens", "--batch-tokens", "--preset", "--pooling" }) Assert.Contains(o, names);
    }

    [Fact]
    public void Show_image_refuses_a_text_preset()
    {
        var root = new RootCommand { ShowCommand.Create() };
        // The image must exist: --image is checked at parse time, before the preset rule is reached.
        string image = Path.Combine(AppContext.BaseDirectory, "Images", "sneaker.png");
        var parse = root.Parse(["show", "--image", image, "--output", "y.png", "--preset", "balanced"]);
        var e = Assert.Throws<RepShiftException>(() => parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false }));
        Assert.Contains("--preset is for text", e.Message);
    }
}
