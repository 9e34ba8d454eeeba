namespace RepShift;

/// <summary>
/// A setting of the library (an <see cref="EmbedderOptions"/> or <see cref="Compression.CompressionPlan"/>
/// property) out of range. The message names the property; <see cref="Property"/> lets a front end name
/// its own flag instead.
/// </summary>
public sealed class OptionException(string property, string message) : RepShiftException(message)
{
    /// <summary>The property at fault, as spelled in the library (e.g. "BatchSize").</summary>
    public string Property { get; } = property;
}
