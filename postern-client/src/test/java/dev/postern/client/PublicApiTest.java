package dev.postern.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.lang.reflect.Modifier;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** The library's public face stays small: every public type outside the internal packages is listed here. */
class PublicApiTest {

    private static final Set<String> PUBLIC_FACE = Set.of(
            "Postern", "Postern.Builder", "Connection", "Stream", "Listener", "Identity", "PeerId", "PathType",
            "EventListener", "PosternException", "PosternException.Reason", "PosternTimeoutException",
            "PeerUnavailableException", "AuthenticationException", "PortMappingProtocol");

    @Test
    void onlyTheListedTypesArePublicOutsideInternal() throws Exception {
        assertThat(publicTypes()).containsExactlyInAnyOrderElementsOf(PUBLIC_FACE);
    }

    /** Nothing public hands out a type of the core or the internal packages, so users never need them. */
    @Test
    void thePublicFaceNamesOnlyItsOwnAndTheJdksTypes() throws Exception {
        for (Class<?> c : classes()) {
            if (!Modifier.isPublic(c.getModifiers())) {
                continue;
            }
            for (var m : c.getDeclaredMethods()) {
                if (Modifier.isPublic(m.getModifiers())) {
                    assertThat(Stream.concat(Stream.of(m.getReturnType()), Stream.of(m.getParameterTypes())).toList())
                            .as("%s.%s", c.getSimpleName(), m.getName()).allSatisfy(PublicApiTest::ownOrJdk);
                }
            }
            for (var k : c.getDeclaredConstructors()) {
                if (Modifier.isPublic(k.getModifiers())) {
                    assertThat(List.of(k.getParameterTypes())).as("%s constructor", c.getSimpleName()).allSatisfy(PublicApiTest::ownOrJdk);
                }
            }
        }
    }

    private static void ownOrJdk(Class<?> t) {
        Class<?> c = t.isArray() ? t.componentType() : t;
        boolean ok = c.isPrimitive() || c.getName().startsWith("java.")
                || (c.getPackageName().equals("dev.postern.client") && Modifier.isPublic(c.getModifiers()));
        assertThat(ok).as("%s is neither the JDK's nor one of the public face", c.getName()).isTrue();
    }

    private static Set<String> publicTypes() throws Exception {
        Set<String> names = new TreeSet<>();
        for (Class<?> c : classes()) {
            boolean visible = Modifier.isPublic(c.getModifiers())
                    && (c.getEnclosingClass() == null || Modifier.isPublic(c.getEnclosingClass().getModifiers()));
            if (visible && !c.isAnonymousClass() && !c.isSynthetic()) {
                names.add(c.getName().substring("dev.postern.client.".length()).replace('$', '.'));
            }
        }
        return names;
    }

    /** Every class of the library's main code outside {@code internal}, read from where {@link Postern} was loaded. */
    private static List<Class<?>> classes() throws IOException, URISyntaxException, ClassNotFoundException {
        Path root = Path.of(Postern.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        Path pkg = root.resolve("dev/postern/client");
        List<Class<?>> found = new java.util.ArrayList<>();
        try (Stream<Path> files = Files.list(pkg)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".class")).toList()) {
                String name = f.getFileName().toString();
                found.add(Class.forName("dev.postern.client." + name.substring(0, name.length() - ".class".length())));
            }
        }
        return found;
    }
}
