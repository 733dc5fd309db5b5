namespace InputGradients.Experiments;

/// <summary>An <see cref="IProgress{T}"/> that calls its action at once on the reporting thread
/// (unlike <see cref="Progress{T}"/>, which posts to a synchronisation context and may run late).</summary>
public sealed class ProgressReport<T>(Action<T> action) : IProgress<T>
{
    public void Report(T value) => action(value);
}
