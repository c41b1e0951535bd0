package dev.postern.server.net;

import com.linecorp.armeria.common.FlagsProvider;

/**
 * Armeria's settings for Postern's listeners, found by Armeria through {@link java.util.ServiceLoader}. The route and
 * parsed-path caches are off: the rendezvous paths carry random client ids, so the caches would only fill with
 * entries never asked for again (up to 4,096 each, of paths a caller chooses) and grew the soak's heap.
 */
public final class ArmeriaFlags implements FlagsProvider {

    @Override
    public int priority() {
        return 100; // above Armeria's defaults; system properties (-Dcom.linecorp.armeria.*) still win
    }

    @Override
    public String name() {
        return "postern";
    }

    @Override
    public String routeCacheSpec() {
        return "off";
    }

    @Override
    public String parsedPathCacheSpec() {
        return "off";
    }
}
