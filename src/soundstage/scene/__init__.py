"""Scene understanding from RGB(-D) images: camera, planes, room-box layout, regions, materials, captions."""
