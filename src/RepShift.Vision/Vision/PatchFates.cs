using RepShift.Compression;

namespace RepShift.Vision;

/// <summary>One reduction stage of one image: after which layer, which patches still have a row of their own, and each patch's score.</summary>
public sealed record PatchStage(int Layer, bool[] Alive, float[] Scores, int Rows);

/// <summary>
/// What a compression plan does to one image's patches (<c>repshift show --image</c>): the patches whose
/// own row is gone after each reduction (dropped, fused, or merged into another patch), read off
/// <see cref="VitEncoder.Trace"/> by which origins still appear.
/// </summary>
public static class PatchFates
{
    public static IReadOnlyList<PatchStage> Trace(VitEncoder encoder, float[] image, CompressionPlan plan)
    {
        var c = encoder.Config;
        int special = c.SpecialTokens;
        var stages = new List<PatchStage>();
        var scores = new Dictionary<int, float[]>();
        encoder.Trace([image], plan,
            afterLayer: (layer, batch) =>
            {
                if (!scores.TryGetValue(layer, out var s)) return;
                var alive = new bool[c.Patches];
                foreach (int origin in batch.Origin)
                    if (origin >= special) alive[origin - special] = true;
                stages.Add(new PatchStage(layer, alive, s, batch.Count));
            },
            beforeReduction: (layer, batch) =>
            {
                var s = new float[c.Patches];
                Array.Fill(s, float.NaN);
                for (int i = 0; i < batch.Count; i++)
                    if (batch.Origin[i] >= special) s[batch.Origin[i] - special] = batch.Score[i];
                scores[layer] = s;
            });
        return stages;
    }
}
