# Sourced (POSIX sh) by ./postern, ./mvnw and .ci/run: makes JAVA_HOME a JDK 21 or newer.
# Order: $JAVA_HOME, the java on PATH, then the newest JDK in the usual install places.
# A machine's default java may be older (17 here), so none of them is trusted without a check.

postern_jdk_major() {  # prints the feature version of the JDK at $1, or nothing
  _pj_home=$1
  _pj_v=""
  [ -x "$_pj_home/bin/java" ] && [ -x "$_pj_home/bin/javac" ] || return 0
  if [ -f "$_pj_home/release" ]; then
    _pj_v=$(sed -n 's/^JAVA_VERSION="\([^"]*\)".*/\1/p' "$_pj_home/release")
  fi
  if [ -z "$_pj_v" ]; then
    _pj_v=$("$_pj_home/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')
  fi
  _pj_v=${_pj_v#1.}
  echo "${_pj_v%%[.+-]*}"
}

postern_use_jdk() {
  _pu_want=21
  _pu_path_home=""
  if command -v java >/dev/null 2>&1; then
    _pu_path_home=$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")
  fi
  for _pu_home in "${JAVA_HOME:-}" "$_pu_path_home"; do
    [ -n "$_pu_home" ] || continue
    _pu_major=$(postern_jdk_major "$_pu_home")
    if [ -n "$_pu_major" ] && [ "$_pu_major" -ge "$_pu_want" ]; then
      JAVA_HOME=$_pu_home
      export JAVA_HOME
      return 0
    fi
  done
  _pu_best=""
  _pu_best_major=0
  for _pu_home in /usr/lib/jvm/* /opt/java/* /opt/jdk* /usr/local/lib/jvm/* "$HOME"/.sdkman/candidates/java/* \
                  /Library/Java/JavaVirtualMachines/*/Contents/Home; do
    [ -d "$_pu_home" ] || continue
    _pu_major=$(postern_jdk_major "$_pu_home")
    if [ -n "$_pu_major" ] && [ "$_pu_major" -ge "$_pu_want" ] && [ "$_pu_major" -gt "$_pu_best_major" ]; then
      _pu_best=$_pu_home
      _pu_best_major=$_pu_major
    fi
  done
  if [ -n "$_pu_best" ]; then
    JAVA_HOME=$_pu_best
    export JAVA_HOME
    return 0
  fi
  echo "postern: no JDK $_pu_want or newer found (JAVA_HOME, PATH, /usr/lib/jvm); install one (e.g. Temurin $_pu_want+) and set JAVA_HOME" >&2
  return 1
}
