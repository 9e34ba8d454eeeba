using RepShift.Models;

namespace RepShift.Loading;

/// <summary>Finds a BERT encoder's weights in an ONNX graph exported from PyTorch.</summary>
public static class OnnxBertImporter
{
    public static BertWeights Import(Stream onnx, string source) => throw new NotImplementedException(source);
}
