using System.Reflection;
using System.Runtime.InteropServices;
using System.Xml.Linq;
using NUnit.Framework;
using OpenSsl.Dtls;
using OpenSsl.Interop;

namespace OpenSslDtls.Tests.Conventions;

/// <summary>The rules of docs/architecture.md (layers, ownership) that reflection can check.</summary>
public class ConventionTests
{
    private static readonly Assembly Interop = typeof(LibSsl).Assembly;
    private static readonly Assembly Dtls = typeof(DtlsSession).Assembly;

    [Test]
    public void Interop_does_not_reference_the_Dtls_layer()
    {
        Assert.That(Interop.GetReferencedAssemblies().Select(a => a.Name), Has.No.Member(Dtls.GetName().Name));
    }

    [Test]
    public void Dtls_declares_no_native_imports()
    {
        var imports = Dtls.GetTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly))
            .Where(m => m.GetCustomAttribute<LibraryImportAttribute>() is not null || m.GetCustomAttribute<DllImportAttribute>() is not null)
            .Select(m => $"{m.DeclaringType}.{m.Name}")
            .ToList();
        Assert.That(imports, Is.Empty);
    }

    [Test]
    public void Dtls_public_surface_exposes_no_interop_type_and_no_native_pointer()
    {
        var offenders = new List<string>();
        foreach (Type type in Dtls.GetExportedTypes())
        {
            foreach (MemberInfo member in type.GetMembers(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly))
            {
                foreach (Type used in TypesOf(member))
                {
                    if (used.Assembly == Interop || used == typeof(IntPtr) || used == typeof(UIntPtr) || used.IsPointer)
                    {
                        offenders.Add($"{type.Name}.{member.Name} uses {used.Name}");
                    }
                }
            }
        }

        Assert.That(offenders, Is.Empty);
    }

    [Test]
    public void SafeHandles_are_sealed_with_a_public_parameterless_constructor()
    {
        var handles = Interop.GetTypes().Where(t => typeof(SafeHandle).IsAssignableFrom(t) && !t.IsAbstract).ToList();
        Assert.That(handles, Is.Not.Empty);
        Assert.Multiple(() =>
        {
            foreach (Type handle in handles)
            {
                Assert.That(handle.IsSealed, Is.True, $"{handle.Name} is not sealed");
                Assert.That(handle.GetConstructor(Type.EmptyTypes), Is.Not.Null, $"{handle.Name} has no public parameterless constructor");
                Assert.That(handle.IsSubclassOf(typeof(OpenSslHandle)), Is.True, $"{handle.Name} is not counted by OpenSslHandle");
            }
        });
    }

    [Test]
    public void Every_public_async_method_takes_a_CancellationToken()
    {
        var missing = new[] { Interop, Dtls }
            .SelectMany(a => a.GetExportedTypes())
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly))
            // Property accessors (a callback property such as PskKeyLookupAsync) are not async methods.
            .Where(m => !m.IsSpecialName && m.Name.EndsWith("Async", StringComparison.Ordinal) && m.Name != nameof(IAsyncDisposable.DisposeAsync))
            .Where(m => !m.GetParameters().Any(p => p.ParameterType == typeof(CancellationToken)))
            .Select(m => $"{m.DeclaringType!.Name}.{m.Name}")
            .ToList();
        Assert.That(missing, Is.Empty);
    }

    [Test]
    public void Every_public_member_has_xml_documentation()
    {
        var undocumented = new List<string>();
        foreach (Assembly assembly in new[] { Interop, Dtls })
        {
            string xmlPath = Path.ChangeExtension(assembly.Location, ".xml");
            Assert.That(File.Exists(xmlPath), Is.True, $"{xmlPath} is missing: GenerateDocumentationFile must be on");
            var documented = XDocument.Load(xmlPath).Descendants("member")
                .Select(m => (string?)m.Attribute("name"))
                .OfType<string>()
                .Select(n => n.Split('(')[0])
                .ToHashSet(StringComparer.Ordinal);
            foreach (Type type in assembly.GetExportedTypes())
            {
                if (!documented.Contains($"T:{Name(type)}"))
                {
                    undocumented.Add(Name(type));
                }
            }
        }

        // The compiler's CS1591 (warnings are errors) covers members; this covers what it cannot: the build having docs at all.
        Assert.That(undocumented, Is.Empty);
    }

    private static string Name(Type type) => type.FullName!.Replace('+', '.');

    private static IEnumerable<Type> TypesOf(MemberInfo member)
    {
        IEnumerable<Type> types = member switch
        {
            MethodInfo m when !m.IsSpecialName => m.GetParameters().Select(p => p.ParameterType).Append(m.ReturnType),
            ConstructorInfo c => c.GetParameters().Select(p => p.ParameterType),
            PropertyInfo p => [p.PropertyType],
            FieldInfo f => [f.FieldType],
            EventInfo e => [e.EventHandlerType!],
            _ => [],
        };
        return types.SelectMany(Expand);
    }

    private static IEnumerable<Type> Expand(Type type)
    {
        yield return type;
        if (type.HasElementType)
        {
            foreach (Type inner in Expand(type.GetElementType()!))
            {
                yield return inner;
            }
        }

        if (type.IsGenericType)
        {
            foreach (Type inner in type.GetGenericArguments().SelectMany(Expand))
            {
                yield return inner;
            }
        }
    }
}
