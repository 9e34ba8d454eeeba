namespace RepShift.Compression;

/// <summary>Named compression plans. How each was chosen, and what it costs, is recorded in docs/RESULTS.md.</summary>
public static class Presets
{
    public static readonly IReadOnlyList<string> Names = ["none"];

    public static CompressionPlan Get(string name) => name.ToLowerInvariant() switch
    {
        "none" or "dense" => CompressionPlan.None,
        _ => throw new RepShiftException($"unknown preset '{name}': use {string.Join(", ", Names)}"),
    };
}
