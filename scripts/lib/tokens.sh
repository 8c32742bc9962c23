# API tokens for the test scripts (issue 24), sourced by them; needs BIN (the switchboard binary).
#
#   script_token <storage flag> <value> <email> <role> [tenant]
#
# adds the user to the database that flag names when it is not there yet (a tenant user's tenant
# registered under its id), then prints a new API token of it: the widest scope its role allows,
# valid for a day. The user's password is SCRIPT_USER_PASSWORD, for the scripts that sign in.

SCRIPT_USER_PASSWORD="a test script user, signed in by scripts only"

script_token() {
  local flag="$1" where="$2" email="$3" role="$4" tenant="${5:-}"
  local tenant_args=()
  [[ -n "$tenant" ]] && tenant_args=(--tenant "$tenant" --tenant-name "$tenant")
  if ! "$BIN" user list "$flag" "$where" | cut -f1 | grep -qxF "$email"; then
    printf '%s\n' "$SCRIPT_USER_PASSWORD" | "$BIN" user add "$flag" "$where" \
      --email "$email" --role "$role" "${tenant_args[@]}" --password-stdin >/dev/null
  fi
  "$BIN" token "$flag" "$where" --user "$email" --name "test script" --days 1 2>/dev/null
}
