package dev.postern.cli;

import dev.postern.client.PortMappingProtocol;
import java.util.Set;

/**
 * What {@code --port-mapping} allows: one value, not a list picocli would show as repeatable.
 *
 * @param protocols the protocols a node may ask its router with (none: it asks nothing)
 */
record PortMappingChoice(Set<PortMappingProtocol> protocols) {
    PortMappingChoice {
        protocols = Set.copyOf(protocols);
    }
}
