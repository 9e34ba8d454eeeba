namespace RepShift.Loading;

/// <summary>
/// Element types the safetensors format defines. Every one is accepted in a header (so files that
/// carry e.g. an I64 <c>position_ids</c> buffer still open); only the floating types convert to float.
/// </summary>
public enum SafeTensorsDType
{
    Bool,
    U8,
    I8,
    F8E5M2,
    F8E4M3,
    I16,
    U16,
    F16,
    BF16,
    I32,
    U32,
    F32,
    F64,
    I64,
    U64,
}

/// <summary>Header spellings and sizes of <see cref="SafeTensorsDType"/>.</summary>
public static class SafeTensorsDTypes
{
    // Index = enum value; the strings are exactly what safetensors headers contain.
    private static readonly string[] Names =
        ["BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "F64", "I64", "U64"];

    private static readonly int[] Sizes = [1, 1, 1, 1, 1, 2, 2, 2, 2, 4, 4, 4, 8, 8, 8];

    /// <summary>The header string, e.g. "BF16".</summary>
    public static string HeaderName(this SafeTensorsDType dtype) => Names[(int)dtype];

    /// <summary>Bytes per element.</summary>
    public static int Size(this SafeTensorsDType dtype) => Sizes[(int)dtype];

    /// <summary>Whether <see cref="SafeTensorsFile.ReadFloats"/> can convert this type.</summary>
    public static bool IsReadableAsFloat(this SafeTensorsDType dtype) =>
        dtype is SafeTensorsDType.F32 or SafeTensorsDType.F16 or SafeTensorsDType.BF16 or SafeTensorsDType.F64;

    /// <summary>Parses a header dtype string (case-sensitive, as the format defines it).</summary>
    public static bool TryParse(string text, out SafeTensorsDType dtype)
    {
        int i = Array.IndexOf(Names, text);
        dtype = (SafeTensorsDType)Math.Max(i, 0);
        return i >= 0;
    }

    /// <summary>All header names, for error messages.</summary>
    public static string Known => string.Join(", ", Names);
}
