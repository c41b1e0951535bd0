package dev.postern.server.relay;

import dev.postern.relay.ffm.FfmRelayEngine;

/** Every case of the relay's tests, with the datagrams moved by the ffm engine. */
class FfmRelayServiceTest extends RelayServiceTest {

    @Override
    RelayEngine engine() {
        return new FfmRelayEngine();
    }
}
