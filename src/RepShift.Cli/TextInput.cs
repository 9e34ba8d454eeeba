using System.Text;

namespace RepShift.Cli;

/// <summary>Reads texts, one per line, from a file or stdin ("-"), rejecting invalid UTF-8 instead of guessing.</summary>
internal static class TextInput
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static List<string> ReadLines(string path)
    {
        using var reader = path == "-" ? new StreamReader(Console.OpenStandardInput(), StrictUtf8) : OpenFile(path);
        var lines = new List<string>();
        try
        {
            while (reader.ReadLine() is { } line) lines.Add(line);
        }
        catch (DecoderFallbackException e)
        {
            throw new RepShiftException($"{(path == "-" ? "standard input" : path)}: line {lines.Count + 1} is not valid UTF-8 ({e.Message})");
        }
        return lines;
    }

    /// <summary>Reads a whole text file strictly as UTF-8.</summary>
    public static string ReadAll(string path)
    {
        try
        {
            return File.ReadAllText(path, StrictUtf8);
        }
        catch (DecoderFallbackException e)
        {
            throw new RepShiftException($"{path}: not valid UTF-8 ({e.Message})");
        }
    }

    private static StreamReader OpenFile(string path)
    {
        if (!File.Exists(path)) throw new RepShiftException($"input file '{path}' not found");
        return new StreamReader(path, StrictUtf8);
    }
}
