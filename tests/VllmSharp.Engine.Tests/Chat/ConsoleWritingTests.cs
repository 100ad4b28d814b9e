using Xunit;

namespace VllmSharp.Engine.Tests.Chat;

/// <summary>
/// Runs alone (after the parallel tests): the README example writes to Console, and other README tests redirect
/// Console.Out while they run, so running beside them would mix outputs.
/// </summary>
[CollectionDefinition(DisableParallelization = true)]
public sealed class ConsoleWritingTests;
