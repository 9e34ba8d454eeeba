using System.Text;

namespace RepShift.Cluster.Inputs;

/// <summary>
/// Reads lines from a stream as strict UTF-8, one at a time, so memory does not grow with the file. Lines end at
/// "\n" (a "\r" before it is dropped; a lone "\r" stays in the text, as the whole-file reader treats it) and a
/// final line end adds no empty line. Lines are split on bytes ('\n' never occurs inside a UTF-8 sequence) and
/// each is decoded alone, so a wrong byte is an error naming the source and its exact line, never a U+FFFD.
/// </summary>
public sealed class Utf8LineReader : IDisposable
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
    private readonly Stream _stream;
    private readonly string _source;
    private readonly byte[] _buffer = new byte[1 << 16];
    private byte[] _line = new byte[256];
    private int _position, _count, _length;
    private bool _first;

    /// <param name="stream">Read from its current position; a UTF-8 byte order mark at the start of a file is skipped.</param>
    /// <param name="source">Named in errors: a path, or "standard input".</param>
    /// <param name="firstLine">The 1-based number of the first line read, for errors when reading from an offset.</param>
    public Utf8LineReader(Stream stream, string source, long firstLine = 1)
    {
        _stream = stream;
        _source = source;
        LineNumber = firstLine - 1;
        _first = !stream.CanSeek || stream.Position == 0;
    }

    /// <summary>The 1-based number of the last line returned.</summary>
    public long LineNumber { get; private set; }

    public string? ReadLine()
    {
        _length = 0;
        bool any = false;
        while (true)
        {
            if (_position == _count && !Fill()) break;
            any = true;
            var span = _buffer.AsSpan(_position, _count - _position);
            int newline = span.IndexOf((byte)'\n');
            Append(newline < 0 ? span : span[..newline]);
            _position += newline < 0 ? span.Length : newline + 1;
            if (newline >= 0) return Finish();
        }
        return any ? Finish() : null;
    }

    private void Append(ReadOnlySpan<byte> bytes)
    {
        if (_length + bytes.Length > _line.Length) Array.Resize(ref _line, Math.Max(_line.Length * 2, _length + bytes.Length));
        bytes.CopyTo(_line.AsSpan(_length));
        _length += bytes.Length;
    }

    private string Finish()
    {
        LineNumber++;
        var bytes = _line.AsSpan(0, _length);
        if (LineNumber == 1 && _first && bytes.StartsWith("\uFEFF"u8)) bytes = bytes[3..];
        if (bytes.Length > 0 && bytes[^1] == '\r') bytes = bytes[..^1];
        try
        {
            return StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException e)
        {
            throw new RepShiftException($"{_source}: line {LineNumber} is not valid UTF-8 ({e.Message}); convert it to UTF-8, e.g. iconv -f windows-1252 -t utf-8");
        }
    }

    private bool Fill()
    {
        _count = _stream.Read(_buffer, 0, _buffer.Length);
        _position = 0;
        return _count > 0;
    }

    public void Dispose() => _stream.Dispose();
}
