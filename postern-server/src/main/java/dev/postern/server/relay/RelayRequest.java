package dev.postern.server.relay;

import dev.postern.core.relay.Cidr;
import java.util.List;

/**
 * What a StartSocket asks for.
 *
 * @param requireToken   each side is claimed only by a first datagram carrying its claim token
 * @param allowedSources sides may be learned only from these blocks; empty allows any source
 */
public record RelayRequest(boolean requireToken, List<Cidr> allowedSources) {

    public static final RelayRequest OPEN = new RelayRequest(false, List.of());

    public RelayRequest {
        allowedSources = List.copyOf(allowedSources);
    }
}
