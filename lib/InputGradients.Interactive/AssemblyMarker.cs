namespace InputGradients.Interactive; internal static class AssemblyMarker { }
