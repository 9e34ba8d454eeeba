using System.Text;
using RepShift.Evaluation;

namespace RepShift.Cli;

/// <summary>Reads texts, one per line, from a file or stdin ("-"), rejecting invalid UTF-8 instead of guessing.</summary>
internal static class TextInput
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static List<string> ReadLines(string path)
    {
        if (path != "-") return [.. Utf8File.ReadLines(path)];
        using var reader = new StreamReader(Console.OpenStandardInput(), StrictUtf8);
        var lines = new List<string>();
        try
        {
            while (reader.ReadLine() is { } line) lines.Add(line);
        }
        catch (DecoderFallbackException e)
        {
            throw new RepShiftException($"standard input: line {lines.Count + 1} is not valid UTF-8 ({e.Message})");
        }
        return lines;
    }
}
