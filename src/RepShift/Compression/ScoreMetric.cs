namespace RepShift.Compression;

/// <summary>What a score measures.</summary>
public enum ScoreKind
{
    /// <summary>Seeded pseudo-random value per (token id, position, layer): the floor any scorer must beat.</summary>
    Random,

    /// <summary>‖y‖, the L2 norm of the token's output state.</summary>
    Norm,

    /// <summary>Attention from [CLS] to the token, averaged over heads.</summary>
    ClsAttention,

    /// <summary>Attention the token receives, averaged over queries and heads.</summary>
    MeanAttention,

    /// <summary>Representation shift: distance between a token's state before and after a branch or layer.</summary>
    Shift,
}

/// <summary>Where a representation shift is measured in a (post-LN) layer x → h = LN₁(x + A(x)) → y = LN₂(h + M(h)).</summary>
public enum ShiftSite
{
    /// <summary>Attention branch: before = x, after = x + A(x) (branch form) or h (sublayer form).</summary>
    Attention,

    /// <summary>MLP branch: before = h, after = h + M(h) (branch form) or y (sublayer form).</summary>
    Mlp,

    /// <summary>Whole layer: before = x, after = y.</summary>
    Layer,
}

/// <summary>How "before" and "after" are compared.</summary>
public enum ShiftDistance { L2, L1, Cosine }

/// <summary>
/// A token-importance score, parsed from names such as <c>norm</c>, <c>cls-attn</c>, <c>mean-attn</c>,
/// <c>random</c> or <c>shift-mlp[-sub][-l1|-cos][-rel][-inv]</c>:
/// <list type="bullet">
/// <item><c>shift-attn|shift-mlp|shift-layer</c>: representation shift at that site (paper: MLP branch, L2);</item>
/// <item><c>-sub</c>: "after" is the LayerNorm output (post-LN sublayer form) instead of before + branch output;
/// on pre-LN models the branch form is the only one (the residual stream is never normalised in place);</item>
/// <item><c>-l1</c>, <c>-cos</c>: L1 distance or cosine distance 1 − cos(before, after) instead of L2;</item>
/// <item><c>-rel</c>: divided by ‖before‖ (the token's own norm), which removes the dominance of BERT's outlier dimensions;</item>
/// <item><c>-inv</c> (any metric): keep the lowest-scoring tokens instead of the highest.</item>
/// </list>
/// </summary>
public sealed record ScoreMetric(ScoreKind Kind, ShiftSite Site = ShiftSite.Mlp, bool Sublayer = false,
    ShiftDistance Distance = ShiftDistance.L2, bool Relative = false, bool Inverted = false)
{
    public static readonly IReadOnlyList<string> Examples =
        ["norm", "cls-attn", "mean-attn", "random", "shift-mlp", "shift-attn", "shift-layer", "shift-mlp-sub", "shift-mlp-cos", "shift-mlp-l1", "shift-mlp-rel", "shift-mlp-inv"];

    /// <summary>Whether scoring needs the attention kernel's extra outputs.</summary>
    public bool NeedsAttention => Kind is ScoreKind.ClsAttention or ScoreKind.MeanAttention;

    public static ScoreMetric Parse(string name)
    {
        if (name is null) throw new OptionException("Metric", $"Metric must name a metric: one of {string.Join(", ", Examples)}");
        var parts = name.Trim().ToLowerInvariant().Split('-');
        bool inverted = parts[^1] == "inv";
        if (inverted) parts = parts[..^1];
        string head = string.Join('-', parts);
        ScoreMetric? simple = head switch
        {
            "random" => new(ScoreKind.Random),
            "norm" => new(ScoreKind.Norm),
            "cls-attn" => new(ScoreKind.ClsAttention),
            "mean-attn" => new(ScoreKind.MeanAttention),
            _ => null,
        };
        if (simple != null) return simple with { Inverted = inverted };
        if (parts.Length < 2 || parts[0] != "shift") throw Unknown(name);
        ShiftSite site = parts[1] switch
        {
            "attn" => ShiftSite.Attention,
            "mlp" => ShiftSite.Mlp,
            "layer" => ShiftSite.Layer,
            _ => throw Unknown(name),
        };
        var metric = new ScoreMetric(ScoreKind.Shift, site, Inverted: inverted);
        foreach (var option in parts[2..])
        {
            metric = option switch
            {
                "sub" when site != ShiftSite.Layer => metric with { Sublayer = true },
                "l1" => metric with { Distance = ShiftDistance.L1 },
                "cos" => metric with { Distance = ShiftDistance.Cosine },
                "rel" => metric with { Relative = true },
                _ => throw Unknown(name),
            };
        }
        return metric;
    }

    public override string ToString()
    {
        string s = Kind switch
        {
            ScoreKind.Random => "random",
            ScoreKind.Norm => "norm",
            ScoreKind.ClsAttention => "cls-attn",
            ScoreKind.MeanAttention => "mean-attn",
            _ => "shift-" + Site switch { ShiftSite.Attention => "attn", ShiftSite.Mlp => "mlp", _ => "layer" }
                + (Sublayer ? "-sub" : "") + Distance switch { ShiftDistance.L1 => "-l1", ShiftDistance.Cosine => "-cos", _ => "" }
                + (Relative ? "-rel" : ""),
        };
        return Inverted ? s + "-inv" : s;
    }

    private static OptionException Unknown(string name) =>
        new("Metric", $"unknown metric '{name}': use one of {string.Join(", ", Examples)} (shift metrics combine shift-attn|mlp|layer with -sub, -l1|-cos, -rel, -inv)");
}
