package dev.postern.core.identity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.postern.core.identity.NodeKeys;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IdentityFilesTest {

    @TempDir
    Path dir;

    @Test
    void firstStartCreatesTheKeyOwnerOnlyAndLaterStartsLoadTheSameIdentity() throws Exception {
        Path data = dir.resolve("data");
        NodeKeys created = IdentityFiles.loadOrCreate(data);

        Path key = data.resolve("node.key");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(key))).isEqualTo("rw-------");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(data))).isEqualTo("rwx------");
        assertThat(Files.readString(data.resolve("node.pub"))).startsWith("-----BEGIN PUBLIC KEY-----");
        assertThat(IdentityFiles.loadOrCreate(data).id()).isEqualTo(created.id());
        assertThat(data.resolve("node.key.tmp")).doesNotExist();
    }

    @Test
    void anExistingIdentityIsReplacedOnlyOnPurpose() throws Exception {
        NodeKeys first = IdentityFiles.create(dir, false);

        assertThatThrownBy(() -> IdentityFiles.create(dir, false)).isInstanceOf(IdentityException.class)
                .hasMessageContaining("already exists");
        assertThat(IdentityFiles.load(dir).id()).isEqualTo(first.id());
        assertThat(IdentityFiles.create(dir, true).id()).isNotEqualTo(first.id());
    }

    @Test
    void aKeyOthersCanReadIsRefusedWithTheFix() throws Exception {
        IdentityFiles.create(dir, false);
        Path key = dir.resolve("node.key");
        Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-r--r--"));

        assertThatThrownBy(() -> IdentityFiles.load(dir)).isInstanceOf(IdentityException.class)
                .hasMessageContaining("can be read by others").hasMessageContaining("chmod 600 " + key);
    }

    @Test
    void aFileThatIsNotAKeyIsAClearError() throws Exception {
        Path key = dir.resolve("node.key");
        Files.writeString(key, "not a key");
        Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-------"));

        assertThatThrownBy(() -> IdentityFiles.load(dir)).hasMessage(key + " is not an Ed25519 private key in PEM (PKCS#8)");
    }
}
