namespace RepShift;

/// <summary>
/// An error the user can act on: a bad model file, a bad input or a bad option. The message names the
/// input and says what was expected, so the CLI can print it as is instead of a stack trace.
/// </summary>
public class RepShiftException : Exception
{
    public RepShiftException(string message) : base(message) { }
    public RepShiftException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>A model file or folder that cannot be read or is not a supported architecture.</summary>
public sealed class ModelFormatException : RepShiftException
{
    public ModelFormatException(string message) : base(message) { }
    public ModelFormatException(string message, Exception inner) : base(message, inner) { }
}
