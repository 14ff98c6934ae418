# SPDX-License-Identifier: MIT
# Input filter of the `docs` target (Doxygen), for the public headers only; the files themselves
# are not changed. golf's headers document every declaration in plain /* */ comments (house
# style); Doxygen reads only /** ... */ and /**< ... */ ones. So:
#   - the licence tag stays a plain comment;
#   - a header's opening "/* golf/x.h: ..." comment becomes its @file description;
#   - a comment that starts a line documents what follows it;
#   - a comment after a member (after ; , or {) documents that member.
/^\/\* SPDX-License-Identifier/b
s|^/\* golf/[a-z_]*\.h: |/** @file\n * |
s|^\([[:space:]]*\)/\* |\1/** |
s|\([;,{]\)\([[:space:]]*\)/\* |\1\2/**< |
