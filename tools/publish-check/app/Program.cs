using RepShift;

using var embedder = TextEmbedder.Load();
float[] v = embedder.Embed("The cat sat on the mat.");
double norm = Math.Sqrt(v.Sum(x => (double)x * x));
Console.WriteLine($"{embedder.ModelName}: {v.Length} dimensions, norm {norm:F4}");
return v.Length == 384 && Math.Abs(norm - 1) < 1e-3 ? 0 : 1;
