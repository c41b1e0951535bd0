package dev.postern.server.relay;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The relay engines this process has, and the choice among them. */
public final class RelayEngines {

    public static final String AUTO = "auto";
    private static final Logger log = LoggerFactory.getLogger("postern.relay");

    private RelayEngines() {}

    /** Every engine: those found on the class path first (they exist to be faster), Netty's last. */
    public static List<RelayEngine> all() {
        List<RelayEngine> engines = new ArrayList<>();
        Iterator<RelayEngine> found = ServiceLoader.load(RelayEngine.class, RelayEngines.class.getClassLoader()).iterator();
        while (true) {
            try {
                if (!found.hasNext()) {
                    break;
                }
                engines.add(found.next());
            } catch (ServiceConfigurationError tooNew) {
                // An engine built for a newer JDK than this one (the ffm engine on JDK 21): not here.
                log.debug("relay engine skipped: {}", tooNew.toString());
            }
        }
        engines.add(new NettyRelayEngine());
        return engines;
    }

    /** The first engine of {@link #all} that can run here. */
    public static RelayEngine best() {
        return all().stream().filter(e -> e.unavailableReason().isEmpty()).findFirst()
                .orElseThrow(() -> new IllegalStateException("no relay engine can run here"));
    }

    /**
     * The engine called {@code name}, or the best one for {@value #AUTO}.
     *
     * @throws IllegalArgumentException naming an unknown engine, or one that cannot run here (and why)
     */
    public static RelayEngine named(String name) {
        if (name.equals(AUTO)) {
            return best();
        }
        List<RelayEngine> engines = all();
        RelayEngine engine = engines.stream().filter(e -> e.name().equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("unknown relay engine '" + name + "': choose " + AUTO + ", "
                        + engines.stream().map(RelayEngine::name).collect(Collectors.joining(", "))));
        engine.unavailableReason().ifPresent(why -> {
            throw new IllegalArgumentException("relay engine " + name + " cannot run here: " + why);
        });
        return engine;
    }
}
