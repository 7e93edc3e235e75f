<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="es" sourcelanguage="en">
<context>
    <name>AutoReplyTab</name>
    <message>
        <location filename="../../ui/care_dialog.py" line="+703"/>
        <source>Answer customers who write while the team is closed</source>
        <translation>Responder a los clientes que escriben cuando el equipo está cerrado</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>The server puts the business hours of the customer&apos;s channel in place of {hours}, and the alternative below in place of {alternative}. It answers once per conversation each time the team is closed.</source>
        <translation>El servidor pone el horario de atención del canal del cliente en lugar de {hours} y la alternativa de abajo en lugar de {alternative}. Responde una vez por conversación cada vez que el equipo está cerrado.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Spanish</source>
        <translation>Español</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>English</source>
        <translation>Inglés</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Reply (%1)</source>
        <translation>Respuesta (%1)</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Alternative (%1)</source>
        <translation>Alternativa (%1)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>For example: call us on 900 123 456 (24 h)</source>
        <translation>Por ejemplo: llamarnos al 900 123 456 (24 h)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Reply</source>
        <translation>Respuesta</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Alternative</source>
        <translation>Alternativa</translation>
    </message>
    <message>
        <location line="+7"/>
        <source> days</source>
        <translation> días</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Never: always a new conversation</source>
        <translation>Nunca: siempre una conversación nueva</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>A customer&apos;s message reopens a resolved conversation within</source>
        <translation>Un mensaje del cliente reabre una conversación resuelta durante</translation>
    </message>
</context>
<context>
    <name>BoardAgentsModel</name>
    <message>
        <location filename="../../ui/lead_board.py" line="+206"/>
        <location line="+73"/>
        <source>Agent</source>
        <translation>Agente</translation>
    </message>
    <message>
        <location line="-73"/>
        <source>Status</source>
        <translation>Estado</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Shift today</source>
        <translation>Turno de hoy</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Load</source>
        <translation>Carga</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Longest wait</source>
        <translation>Mayor espera</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>Any time</source>
        <translation>Sin horario</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Off today</source>
        <translation>Hoy libra</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>All channels %1/%2</source>
        <translation>Todos los canales %1/%2</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Other channels</source>
        <translation>Otros canales</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>%1, %2, %3, load %4 of %5</source>
        <translation>%1, %2, %3, carga %4 de %5</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>Since %1</source>
        <translation>Desde %1</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>On shift now</source>
        <translation>Ahora en turno</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Not on shift now</source>
        <translation>Ahora fuera de turno</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>%1 · times in %2</source>
        <translation>%1 · horas en %2</translation>
    </message>
    <message>
        <location line="+14"/>
        <source>A customer has waited for an answer since %1</source>
        <translation>Un cliente espera respuesta desde %1</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Lead</source>
        <translation>Supervisor</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Admin</source>
        <translation>Administrador</translation>
    </message>
</context>
<context>
    <name>BoardConversationsModel</name>
    <message>
        <location line="+56"/>
        <source>Customer</source>
        <translation>Cliente</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Channel</source>
        <translation>Canal</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Waiting</source>
        <translation>Espera</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Last message</source>
        <translation>Último mensaje</translation>
    </message>
    <message>
        <location line="+20"/>
        <source>%1, %2, waiting %3: %4</source>
        <translation>%1, %2, esperando %3: %4</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Not moved: %1</source>
        <translation>No se ha movido: %1</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>refused by the server</source>
        <translation>rechazado por el servidor</translation>
    </message>
    <message>
        <location line="+15"/>
        <source>Waiting for an answer since %1</source>
        <translation>Esperando respuesta desde %1</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Since %1</source>
        <translation>Desde %1</translation>
    </message>
</context>
<context>
    <name>CannedEditor</name>
    <message>
        <location filename="../../ui/canned_editor.py" line="+52"/>
        <source>General</source>
        <translation>General</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Information</source>
        <translation>Información</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Incident</source>
        <translation>Incidencia</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Post-sale</source>
        <translation>Posventa</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Crisis</source>
        <translation>Crisis</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Follow-up</source>
        <translation>Seguimiento</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Spanish</source>
        <translation>Español</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>English</source>
        <translation>Inglés</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>X (short)</source>
        <translation>X (corta)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Public post</source>
        <translation>Publicación pública</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Private message</source>
        <translation>Mensaje privado</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>WhatsApp</source>
        <translation>WhatsApp</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Messenger</source>
        <translation>Messenger</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Instagram</source>
        <translation>Instagram</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Telegram</source>
        <translation>Telegram</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Email</source>
        <translation>Email</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>“%1” without its pair at character %2: variables are {{name}}, placeholders [[label]].</source>
        <translation>«%1» sin su pareja en el carácter %2: las variables son {{nombre}} y los huecos [[etiqueta]].</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>An empty placeholder [[ ]] at character %1.</source>
        <translation>Un hueco vacío [[ ]] en el carácter %1.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Unknown variable {{%1}}: use one from “Insert variable” or customer.&lt;field&gt;.</source>
        <translation>Variable desconocida {{%1}}: usa una de «Insertar variable» o customer.&lt;campo&gt;.</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>You are offline: nothing was saved. Try again when connected.</source>
        <translation>Estás sin conexión: no se ha guardado nada. Vuelve a intentarlo cuando haya conexión.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Your session has ended; sign in again.</source>
        <translation>Tu sesión ha terminado; vuelve a iniciar sesión.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Not allowed: %1</source>
        <translation>No permitido: %1</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>This response no longer exists: someone deleted it.</source>
        <translation>Esta respuesta ya no existe: alguien la eliminó.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>The server refused these values: %1</source>
        <translation>El servidor rechazó estos valores: %1</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>The server refused: %1</source>
        <translation>El servidor lo rechazó: %1</translation>
    </message>
    <message>
        <location line="+39"/>
        <source>Edit canned response</source>
        <translation>Editar respuesta predefinida</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>New canned response</source>
        <translation>Nueva respuesta predefinida</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>one word, typed after / in the composer</source>
        <translation>una palabra, que se escribe tras / en el editor</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>Team response</source>
        <translation>Respuesta del equipo</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Hello {{customer.first_name}}, … [[order number]] …</source>
        <translation>Hola {{customer.first_name}}, … [[número de pedido]] …</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Insert variable</source>
        <translation>Insertar variable</translation>
    </message>
    <message>
        <location line="+18"/>
        <source>Empty: the text above is used.</source>
        <translation>Vacía: se usa el texto de arriba.</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>words customers use, separated by commas (for suggestions)</source>
        <translation>palabras que usan los clientes, separadas por comas (para las sugerencias)</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>Title</source>
        <translation>Título</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Shortcut</source>
        <translation>Atajo</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Language</source>
        <translation>Idioma</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Category</source>
        <translation>Categoría</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Text</source>
        <translation>Texto</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Variants per channel</source>
        <translation>Variantes por canal</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Keywords</source>
        <translation>Palabras clave</translation>
    </message>
    <message>
        <location line="+28"/>
        <source>The whole team uses a team response; leads edit it.</source>
        <translation>Todo el equipo usa una respuesta del equipo; la editan los responsables.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Only leads and admins add team responses; this one will be yours.</source>
        <translation>Solo los responsables y administradores añaden respuestas del equipo; esta será tuya.</translation>
    </message>
    <message>
        <location line="+16"/>
        <source>A response stays the team&apos;s or its author&apos;s once created.</source>
        <translation>Una vez creada, la respuesta sigue siendo del equipo o de quien la escribió.</translation>
    </message>
    <message>
        <location line="+45"/>
        <source>Variables: %1</source>
        <translation>Variables: %1</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>To fill in by hand: %1</source>
        <translation>Para rellenar a mano: %1</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>No variables or placeholders.</source>
        <translation>Sin variables ni huecos.</translation>
    </message>
    <message>
        <location line="+14"/>
        <source>%1 characters</source>
        <translation>%1 caracteres</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Empty: the text above is used on this channel.</source>
        <translation>Vacía: en este canal se usa el texto de arriba.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>%1 / %2 characters</source>
        <translation>%1 / %2 caracteres</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Empty: the text above is used, and at %1 characters it is over %2: write a short variant.</source>
        <translation>Vacía: se usa el texto de arriba, que con %1 caracteres pasa de %2: escribe una variante corta.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Empty: the text above is used (%1 / %2 characters).</source>
        <translation>Vacía: se usa el texto de arriba (%1 / %2 caracteres).</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Each variable and placeholder counts as 20 characters.</source>
        <translation>Cada variable y cada hueco cuentan como 20 caracteres.</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Give the response a title.</source>
        <translation>Ponle un título a la respuesta.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>The shortcut is one word without spaces, for example “greeting”.</source>
        <translation>El atajo es una sola palabra sin espacios, por ejemplo «saludo».</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>/%1 already opens “%2” in this language: choose another shortcut.</source>
        <translation>/%1 ya abre «%2» en este idioma: elige otro atajo.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Write the text of the response.</source>
        <translation>Escribe el texto de la respuesta.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>The text is %1 characters; a reply holds at most %2.</source>
        <translation>El texto tiene %1 caracteres; una respuesta admite como mucho %2.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Fix the text first: %1</source>
        <translation>Corrige antes el texto: %1</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Fix the %1 variant first: %2</source>
        <translation>Corrige antes la variante %1: %2</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>The %1 variant is %2 characters; it must fit in %3 (each variable and placeholder counts as 20).</source>
        <translation>La variante %1 tiene %2 caracteres; debe caber en %3 (cada variable y cada hueco cuentan como 20).</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>The %1 variant is over %2 characters.</source>
        <translation>La variante %1 pasa de %2 caracteres.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>At most %1 keywords.</source>
        <translation>Como mucho %1 palabras clave.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>The keyword “%1” is over %2 characters.</source>
        <translation>La palabra clave «%1» pasa de %2 caracteres.</translation>
    </message>
    <message>
        <location line="+24"/>
        <source>These values cannot be saved: %1</source>
        <translation>Estos valores no se pueden guardar: %1</translation>
    </message>
</context>
<context>
    <name>CannedPanel</name>
    <message>
        <location filename="../../ui/canned_panel.py" line="+114"/>
        <source>%1×</source>
        <translation>%1×</translation>
    </message>
    <message>
        <location line="+36"/>
        <source>Suggested</source>
        <translation>Sugeridas</translation>
    </message>
    <message>
        <location line="+15"/>
        <source>Search canned responses</source>
        <translation>Buscar respuestas predefinidas</translation>
    </message>
    <message>
        <location line="+19"/>
        <source>New…</source>
        <translation>Nueva…</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Edit…</source>
        <translation>Editar…</translation>
    </message>
    <message>
        <location line="+2"/>
        <location line="+402"/>
        <source>Delete</source>
        <translation>Eliminar</translation>
    </message>
    <message>
        <location line="-400"/>
        <source>Insert</source>
        <translation>Insertar</translation>
    </message>
    <message>
        <location line="+18"/>
        <source>Preview</source>
        <translation>Vista previa</translation>
    </message>
    <message>
        <location line="+128"/>
        <source>Not synced with the team yet: showing the default library.</source>
        <translation>Aún sin sincronizar con el equipo: se muestra la biblioteca predeterminada.</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Used %1 times</source>
        <translation>Usada %1 veces</translation>
    </message>
    <message>
        <location line="+30"/>
        <source>Open a conversation to see the responses that fit its last message.</source>
        <translation>Abre una conversación para ver las respuestas que encajan con su último mensaje.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>No suggestion for the customer&apos;s last message.</source>
        <translation>Ninguna sugerencia para el último mensaje del cliente.</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>Team</source>
        <translation>Equipo</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Mine</source>
        <translation>Mías</translation>
    </message>
    <message>
        <location line="+86"/>
        <location line="+35"/>
        <source>Text</source>
        <translation>Texto</translation>
    </message>
    <message>
        <location line="-7"/>
        <source>No canned response matches.</source>
        <translation>Ninguna respuesta predefinida coincide.</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>%1 · %2 / %3 characters</source>
        <translation>%1 · %2 / %3 caracteres</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>%1 · %2 characters</source>
        <translation>%1 · %2 caracteres</translation>
    </message>
    <message>
        <location line="+23"/>
        <source>Sign in to the team server to change the library.</source>
        <translation>Inicia sesión en el servidor del equipo para cambiar la biblioteca.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>The default library can be changed once it has synced with the team.</source>
        <translation>La biblioteca predeterminada se puede cambiar cuando se haya sincronizado con el equipo.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Only leads and admins change the team&apos;s responses.</source>
        <translation>Solo los responsables y administradores cambian las respuestas del equipo.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>This response is another agent&apos;s.</source>
        <translation>Esta respuesta es de otro agente.</translation>
    </message>
    <message>
        <location line="+40"/>
        <source>Delete canned response</source>
        <translation>Eliminar respuesta predefinida</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Delete “%1”?</source>
        <translation>¿Eliminar «%1»?</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>The whole team loses this response.</source>
        <translation>Todo el equipo pierde esta respuesta.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>This response of yours goes away.</source>
        <translation>Esta respuesta tuya desaparece.</translation>
    </message>
    <message>
        <location line="+19"/>
        <source>Not deleted: %1</source>
        <translation>No se ha eliminado: %1</translation>
    </message>
</context>
<context>
    <name>CareDialog</name>
    <message>
        <location filename="../../ui/care_dialog.py" line="+109"/>
        <source>Care rules</source>
        <translation>Reglas de atención</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Business hours</source>
        <translation>Horario de atención</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Response times</source>
        <translation>Tiempos de respuesta</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Priority</source>
        <translation>Prioridad</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Out of hours</source>
        <translation>Fuera de horario</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Satisfaction survey</source>
        <translation>Encuesta de satisfacción</translation>
    </message>
    <message>
        <location line="+55"/>
        <source>Saving…</source>
        <translation>Guardando…</translation>
    </message>
</context>
<context>
    <name>ChannelsDialog</name>
    <message>
        <location filename="../../ui/channels_dialog.py" line="+39"/>
        <source>Phone number ID</source>
        <translation>ID del número de teléfono</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Access token</source>
        <translation>Token de acceso</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>App secret</source>
        <translation>Clave secreta de la app</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Webhook verify token</source>
        <translation>Token de verificación del webhook</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>API address (optional)</source>
        <translation>Dirección de la API (opcional)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Facebook page ID</source>
        <translation>ID de la página de Facebook</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Instagram account ID</source>
        <translation>ID de la cuenta de Instagram</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>X user ID</source>
        <translation>ID de usuario de X</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Refresh token (optional)</source>
        <translation>Token de actualización (opcional)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>OAuth client ID (optional)</source>
        <translation>ID de cliente OAuth (opcional)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>OAuth client secret (optional)</source>
        <translation>Secreto de cliente OAuth (opcional)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Bot token</source>
        <translation>Token del bot</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Email address</source>
        <translation>Dirección de correo</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>IMAP server</source>
        <translation>Servidor IMAP</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>IMAP port</source>
        <translation>Puerto IMAP</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>IMAP over TLS</source>
        <translation>IMAP con TLS</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>IMAP user name</source>
        <translation>Usuario IMAP</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>IMAP password</source>
        <translation>Contraseña IMAP</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Mailbox</source>
        <translation>Buzón</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>SMTP server</source>
        <translation>Servidor SMTP</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>SMTP port</source>
        <translation>Puerto SMTP</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>SMTP security</source>
        <translation>Seguridad SMTP</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>SMTP user name (optional)</source>
        <translation>Usuario SMTP (opcional)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>SMTP password (optional)</source>
        <translation>Contraseña SMTP (opcional)</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Yes</source>
        <translation>Sí</translation>
    </message>
    <message>
        <location line="+1"/>
        <location line="+255"/>
        <source>No</source>
        <translation>No</translation>
    </message>
    <message>
        <location line="-254"/>
        <source>STARTTLS</source>
        <translation>STARTTLS</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>SSL/TLS</source>
        <translation>SSL/TLS</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>None (local servers only)</source>
        <translation>Ninguna (solo servidores locales)</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>never</source>
        <translation>nunca</translation>
    </message>
    <message>
        <location line="+6"/>
        <location line="+1"/>
        <source>Meta Business Settings (System users)</source>
        <translation>la configuración del negocio de Meta (Usuarios del sistema)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>the Meta app&apos;s Instagram settings</source>
        <translation>la configuración de Instagram de la app de Meta</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>the X developer portal</source>
        <translation>el portal de desarrolladores de X</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>@BotFather</source>
        <translation>@BotFather</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>your mail provider&apos;s account settings</source>
        <translation>la configuración de la cuenta de tu proveedor de correo</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>Not connected: fill in the settings below and press Connect.</source>
        <translation>Sin conectar: rellena la configuración de abajo y pulsa Conectar.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>The server cannot open the stored credentials (its channel key changed). Enter the secrets again and press Connect.</source>
        <translation>El servidor no puede abrir las credenciales guardadas (su clave de canales ha cambiado). Vuelve a escribir los secretos y pulsa Conectar.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>The access token expired on %1. Make a new one in %2 and enter it below.</source>
        <translation>El token de acceso caducó el %1. Crea uno nuevo en %2 y escríbelo abajo.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>The access token expires on %1. Make a new one in %2 and enter it before then.</source>
        <translation>El token de acceso caduca el %1. Crea uno nuevo en %2 y escríbelo antes de esa fecha.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>The provider refused the credentials on %1 (“%2”). Replies cannot go out: make a new token or password in %3, enter it below and press Connect.</source>
        <translation>El proveedor rechazó las credenciales el %1 («%2»). Las respuestas no pueden salir: crea un token o contraseña nuevos en %3, escríbelos abajo y pulsa Conectar.</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>The account lacks a permission the channel needs (“%1”). Grant it in %2, then press Test again.</source>
        <translation>A la cuenta le falta un permiso que el canal necesita («%1»). Concédelo en %2 y pulsa Probar de nuevo.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>The provider has been failing since %1 (“%2”). The server keeps trying and loses nothing; if it lasts, check the provider&apos;s status page.</source>
        <translation>El proveedor falla desde %1 («%2»). El servidor sigue intentándolo y no se pierde nada; si dura, consulta la página de estado del proveedor.</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>No new messages were fetched since %1. Press Test again; if the test fails, correct the settings.</source>
        <translation>No se han consultado mensajes nuevos desde %1. Pulsa Probar de nuevo; si la prueba falla, corrige la configuración.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>No webhook has arrived yet. In the Meta app&apos;s Webhooks settings, set the callback URL to %1 and the verify token entered here, and subscribe to messages.</source>
        <translation>Aún no ha llegado ningún webhook. En la configuración de Webhooks de la app de Meta, pon como URL de devolución de llamada %1 y el token de verificación que has escrito aquí, y suscríbete a los mensajes.</translation>
    </message>
    <message>
        <location line="+18"/>
        <source>Not connected</source>
        <translation>Sin conectar</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Not working</source>
        <translation>No funciona</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Needs attention</source>
        <translation>Requiere atención</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Working</source>
        <translation>Funciona</translation>
    </message>
    <message>
        <location line="+18"/>
        <source>The provider refused these credentials</source>
        <translation>El proveedor ha rechazado estas credenciales</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The account lacks a permission</source>
        <translation>A la cuenta le falta un permiso</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The provider could not be reached; try again</source>
        <translation>No se ha podido contactar con el proveedor; inténtalo de nuevo</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>These settings are not right</source>
        <translation>Esta configuración no es correcta</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>The connection test failed</source>
        <translation>La prueba de conexión ha fallado</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>%1 (%2)</source>
        <translation>%1 (%2)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>%1: %2</source>
        <translation>%1: %2</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>Channels</source>
        <translation>Canales</translation>
    </message>
    <message>
        <location line="+21"/>
        <source>Account</source>
        <translation>Cuenta</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Connected</source>
        <translation>Conectado</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Last activity</source>
        <translation>Última actividad</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Token expires</source>
        <translation>El token caduca</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Last error</source>
        <translation>Último error</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>Health</source>
        <translation>Estado</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Connection</source>
        <translation>Conexión</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Only an admin can connect, test or disconnect channels.</source>
        <translation>Solo un administrador puede conectar, probar o desconectar canales.</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Test again</source>
        <translation>Probar de nuevo</translation>
    </message>
    <message>
        <location line="+3"/>
        <location line="+245"/>
        <source>Disconnect</source>
        <translation>Desconectar</translation>
    </message>
    <message>
        <location line="-242"/>
        <location line="+160"/>
        <source>Connect</source>
        <translation>Conectar</translation>
    </message>
    <message>
        <location line="-159"/>
        <source>Close</source>
        <translation>Cerrar</translation>
    </message>
    <message>
        <location line="+69"/>
        <source>%1 (ID %2)</source>
        <translation>%1 (ID %2)</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>From this app, by %1 on %2</source>
        <translation>Desde esta app, por %1 el %2</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>In the team server&apos;s settings (its WORKSTATION_* variables)</source>
        <translation>En la configuración del servidor del equipo (sus variables WORKSTATION_*)</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Last webhook: %1</source>
        <translation>Último webhook: %1</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Last fetch of new messages: %1</source>
        <translation>Última consulta de mensajes nuevos: %1</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Last reply sent: %1</source>
        <translation>Última respuesta enviada: %1</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Does not expire</source>
        <translation>No caduca</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Not known</source>
        <translation>Desconocido</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>%1 — %2</source>
        <translation>%1 — %2</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>None</source>
        <translation>Ninguno</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Everything works.</source>
        <translation>Todo funciona.</translation>
    </message>
    <message>
        <location line="+20"/>
        <source>Stored on the server; leave empty to keep it</source>
        <translation>Guardado en el servidor; déjalo vacío para conservarlo</translation>
    </message>
    <message>
        <location line="+32"/>
        <source>Save and test</source>
        <translation>Guardar y probar</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Set in the team server&apos;s settings: remove its WORKSTATION_* variables there to turn it off.</source>
        <translation>Configurado en el servidor del equipo: quita allí sus variables WORKSTATION_* para apagarlo.</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Fill in %1.</source>
        <translation>Rellena %1.</translation>
    </message>
    <message>
        <location line="+3"/>
        <location line="+33"/>
        <source>Testing the connection to %1…</source>
        <translation>Probando la conexión con %1…</translation>
    </message>
    <message>
        <location line="-7"/>
        <source>%1 is connected as %2.</source>
        <translation>%1 está conectado como %2.</translation>
    </message>
    <message>
        <location line="+22"/>
        <source>%1 works.</source>
        <translation>%1 funciona.</translation>
    </message>
    <message>
        <location line="+17"/>
        <source>Disconnect %1? Its conversations stay; new messages stop arriving and replies stop going out until it is connected again.</source>
        <translation>¿Desconectar %1? Sus conversaciones se quedan; dejan de llegar mensajes nuevos y de salir respuestas hasta que se vuelva a conectar.</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Disconnecting %1…</source>
        <translation>Desconectando %1…</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>%1 is disconnected.</source>
        <translation>%1 está desconectado.</translation>
    </message>
</context>
<context>
    <name>CommandPalette</name>
    <message>
        <location filename="../../ui/command_palette.py" line="+17"/>
        <source>Command palette</source>
        <translation>Paleta de comandos</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Type a command…</source>
        <translation>Escribe un comando…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Command</source>
        <translation>Comando</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Commands</source>
        <translation>Comandos</translation>
    </message>
</context>
<context>
    <name>Composer</name>
    <message>
        <location filename="../../ui/composer.py" line="+283"/>
        <source>Write a reply… (Enter sends, Shift+Enter adds a line)</source>
        <translation>Escribe una respuesta… (Intro envía, Mayús+Intro añade una línea)</translation>
    </message>
    <message>
        <location line="-190"/>
        <location line="+192"/>
        <source>Send</source>
        <translation>Enviar</translation>
    </message>
    <message>
        <location line="-202"/>
        <source>Reply</source>
        <translation>Responder</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Internal note</source>
        <translation>Nota interna</translation>
    </message>
    <message>
        <location line="+181"/>
        <source>%1 / %2</source>
        <translation>%1 / %2</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Fill in %1 (Tab for the next)</source>
        <translation>Completa %1 (Tab para el siguiente)</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Write an internal note: only your team sees it (Enter saves)</source>
        <translation>Escribe una nota interna: solo la ve tu equipo (Intro guarda)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Add note</source>
        <translation>Añadir nota</translation>
    </message>
</context>
<context>
    <name>CostModelEditor</name>
    <message>
        <location filename="../../ui/dashboard.py" line="+120"/>
        <source>Cost model</source>
        <translation>Modelo de costes</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>A currency code such as EUR or USD</source>
        <translation>Un código de moneda, como EUR o USD</translation>
    </message>
    <message>
        <location line="+3"/>
        <source> min</source>
        <translation> min</translation>
    </message>
    <message>
        <location line="+5"/>
        <source> %</source>
        <translation> %</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Of the resolved conversations, how many would otherwise have been a phone call</source>
        <translation>De las conversaciones resueltas, cuántas habrían sido si no una llamada de teléfono</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Currency</source>
        <translation>Moneda</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Agent cost per hour</source>
        <translation>Coste de una hora de agente</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Agent time per reply</source>
        <translation>Tiempo de agente por respuesta</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Cost of a phone contact</source>
        <translation>Coste de un contacto telefónico</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Share that would have called</source>
        <translation>Parte que habría llamado</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Save cost model</source>
        <translation>Guardar modelo de costes</translation>
    </message>
    <message>
        <location line="+58"/>
        <source>Write a currency code (up to 8 letters).</source>
        <translation>Escribe un código de moneda (hasta 8 letras).</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Saving…</source>
        <translation>Guardando…</translation>
    </message>
    <message>
        <location line="+15"/>
        <source>Saved. The cost figures now use this model.</source>
        <translation>Guardado. Las cifras de costes ya usan este modelo.</translation>
    </message>
</context>
<context>
    <name>CostTableModel</name>
    <message>
        <location filename="../../ui/dashboard_model.py" line="+295"/>
        <source>All channels</source>
        <translation>Todos los canales</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Channel</source>
        <translation>Canal</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Resolved</source>
        <translation>Resueltas</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Replies</source>
        <translation>Respuestas</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Agent
hours</source>
        <translation>Horas de
agente</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Agent hours</source>
        <translation>Horas de agente</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Cost</source>
        <translation>Coste</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Cost (%1)</source>
        <translation>Coste (%1)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Cost per
resolved</source>
        <translation>Coste por
resuelta</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Cost per resolved (%1)</source>
        <translation>Coste por resuelta (%1)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Phone
baseline</source>
        <translation>Referencia
teléfono</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Phone baseline (%1)</source>
        <translation>Referencia teléfono (%1)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Saving vs
phone</source>
        <translation>Ahorro frente
al teléfono</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Saving vs phone (%1)</source>
        <translation>Ahorro frente al teléfono (%1)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Return
on cost</source>
        <translation>Rendimiento
sobre el coste</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Return on cost (%)</source>
        <translation>Rendimiento sobre el coste (%)</translation>
    </message>
</context>
<context>
    <name>CrisisBanner</name>
    <message>
        <location filename="../../ui/crisis_banner.py" line="+80"/>
        <source>Crisis alert</source>
        <translation>Alerta de crisis</translation>
    </message>
    <message>
        <location line="+23"/>
        <source>Start crisis mode</source>
        <translation>Activar modo crisis</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Pin the crisis responses and raise conversations about the crisis to urgent</source>
        <translation>Fija las respuestas de crisis y sube a urgente las conversaciones sobre la crisis</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>End crisis mode</source>
        <translation>Terminar modo crisis</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Acknowledge</source>
        <translation>Marcar como vista</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Mark these alerts as seen</source>
        <translation>Marca estas alertas como vistas</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Playbook</source>
        <translation>Protocolo</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>What the team does in a crisis</source>
        <translation>Qué hace el equipo en una crisis</translation>
    </message>
    <message>
        <location line="+55"/>
        <source>Possible crisis: %1 negative messages about &apos;%2&apos; in %3 min (usual %4)</source>
        <translation>Posible crisis: %1 mensajes negativos sobre «%2» en %3 min (lo habitual: %4)</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Possible crisis: %1 negative messages in %2 min (usual %3)</source>
        <translation>Posible crisis: %1 mensajes negativos en %2 min (lo habitual: %3)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>a lead</source>
        <translation>un responsable</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>(acknowledged by %1)</source>
        <translation>(vista por %1)</translation>
    </message>
    <message>
        <location line="+48"/>
        <source>Crisis mode was not changed: %1</source>
        <translation>No se ha cambiado el modo crisis: %1</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>The alert was not acknowledged: %1</source>
        <translation>No se ha marcado la alerta como vista: %1</translation>
    </message>
    <message>
        <location line="+31"/>
        <source>Crisis mode is on since %1 (started by %2): answer with the pinned crisis responses and follow the playbook.</source>
        <translation>Modo crisis activo desde %1 (lo activó %2): responde con las respuestas de crisis fijadas y sigue el protocolo.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Crisis mode is on since %1: answer with the pinned crisis responses and follow the playbook.</source>
        <translation>Modo crisis activo desde %1: responde con las respuestas de crisis fijadas y sigue el protocolo.</translation>
    </message>
</context>
<context>
    <name>CsatTab</name>
    <message>
        <location filename="../../ui/care_dialog.py" line="-145"/>
        <source>Ask the customer to rate the help when a conversation is resolved</source>
        <translation>Pedir al cliente que valore la atención al resolver una conversación</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>One question on the customer&apos;s channel, in their language, only in private conversations and while the channel lets us write to them. An answer from 1 to 5 is recorded against the conversation and the agent, thanked, and does not reopen the conversation.</source>
        <translation>Una sola pregunta en el canal del cliente, en su idioma, solo en conversaciones privadas y mientras el canal nos deje escribirle. Una respuesta del 1 al 5 se registra en la conversación y el agente, se agradece y no reabre la conversación.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Spanish</source>
        <translation>Español</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>English</source>
        <translation>Inglés</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Question (%1)</source>
        <translation>Pregunta (%1)</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Thanks (%1)</source>
        <translation>Agradecimiento (%1)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Question</source>
        <translation>Pregunta</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Thanks</source>
        <translation>Agradecimiento</translation>
    </message>
    <message>
        <location line="+7"/>
        <source> h</source>
        <translation> h</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>An answer counts if it comes within</source>
        <translation>Una respuesta cuenta si llega en un plazo de</translation>
    </message>
    <message>
        <location line="+25"/>
        <source>The survey&apos;s texts cannot be empty.</source>
        <translation>Los textos de la encuesta no pueden quedar vacíos.</translation>
    </message>
</context>
<context>
    <name>CustomerMergeDialog</name>
    <message>
        <location filename="../../ui/customer_merge_dialog.py" line="+35"/>
        <source>Merge customers</source>
        <translation>Unir clientes</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Find the customer who is the same person as “%1”: by name, phone, user name or address.</source>
        <translation>Busca el cliente que es la misma persona que «%1»: por nombre, teléfono, nombre de usuario o dirección.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Name or handle…</source>
        <translation>Nombre o identificador…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Search customers</source>
        <translation>Buscar clientes</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Customers found</source>
        <translation>Clientes encontrados</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>No other customer matches.</source>
        <translation>Ningún otro cliente coincide.</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Merge</source>
        <translation>Unir</translation>
    </message>
    <message>
        <location line="+60"/>
        <source>“%1” joins “%2”: their channels, conversations and follow-ups move to “%2”, their tags, data and notes are added to its profile (where data differs, this customer&apos;s stays and theirs is written into the notes).</source>
        <translation>«%1» se une a «%2»: sus canales, conversaciones y seguimientos pasan a «%2», y sus etiquetas, datos y notas se añaden a su ficha (si un dato difiere, se queda el de este cliente y el otro se apunta en las notas).</translation>
    </message>
</context>
<context>
    <name>CustomerPane</name>
    <message>
        <location filename="../../ui/customer_pane.py" line="+265"/>
        <source>VIP</source>
        <translation>VIP</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>A VIP customer: their conversations get a higher priority</source>
        <translation>Cliente VIP: sus conversaciones tienen más prioridad</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Not known</source>
        <translation>Desconocido</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Spanish</source>
        <translation>Español</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>English</source>
        <translation>Inglés</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Customer&apos;s language</source>
        <translation>Idioma del cliente</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Language:</source>
        <translation>Idioma:</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>Channels</source>
        <translation>Canales</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Merge with another customer…</source>
        <translation>Unir con otro cliente…</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>The same person wrote from another channel or number: bring their conversations here</source>
        <translation>La misma persona escribió desde otro canal o número: trae aquí sus conversaciones</translation>
    </message>
    <message>
        <location line="+5"/>
        <location line="+771"/>
        <source>Split into a separate customer</source>
        <translation>Separar en otro cliente</translation>
    </message>
    <message>
        <location line="-770"/>
        <source>One of these channels is someone else: make it a customer of its own</source>
        <translation>Uno de estos canales es otra persona: conviértelo en un cliente aparte</translation>
    </message>
    <message>
        <location line="+14"/>
        <source>Tags</source>
        <translation>Etiquetas</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>No tags yet.</source>
        <translation>Aún no tiene etiquetas.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Add a tag (VIP, loyal…)</source>
        <translation>Añadir una etiqueta (VIP, fiel…)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>New tag</source>
        <translation>Nueva etiqueta</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Add</source>
        <translation>Añadir</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Add tag</source>
        <translation>Añadir etiqueta</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Customer data</source>
        <translation>Datos del cliente</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Field</source>
        <translation>Campo</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Value</source>
        <translation>Valor</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>Customer data fields</source>
        <translation>Campos de datos del cliente</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>No data yet. Add fields such as plan, city or order count.</source>
        <translation>Aún no hay datos. Añade campos como plan, ciudad o número de pedidos.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Add field</source>
        <translation>Añadir campo</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Remove field</source>
        <translation>Quitar campo</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Save data</source>
        <translation>Guardar datos</translation>
    </message>
    <message>
        <location line="+2"/>
        <location line="+30"/>
        <source>Discard</source>
        <translation>Descartar</translation>
    </message>
    <message>
        <location line="-29"/>
        <source>Discard changes to the customer data</source>
        <translation>Descartar los cambios en los datos del cliente</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>A colleague changed these fields meanwhile; saving keeps your version.</source>
        <translation>Un compañero ha cambiado estos datos mientras tanto; al guardar se queda tu versión.</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Internal notes</source>
        <translation>Notas internas</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Seen by your team only, never sent to the customer.</source>
        <translation>Solo las ve tu equipo; nunca se envían al cliente.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>What the team should know about this customer…</source>
        <translation>Lo que el equipo debe saber de este cliente…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Internal notes about the customer</source>
        <translation>Notas internas sobre el cliente</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Save notes</source>
        <translation>Guardar notas</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Save the notes (Ctrl+Enter)</source>
        <translation>Guardar las notas (Ctrl+Intro)</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Discard changes to the notes</source>
        <translation>Descartar los cambios en las notas</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>A colleague changed these notes meanwhile; saving keeps your version.</source>
        <translation>Un compañero ha cambiado estas notas mientras tanto; al guardar se queda tu versión.</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Open follow-ups</source>
        <translation>Seguimientos pendientes</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>No open follow-ups.</source>
        <translation>No hay seguimientos pendientes.</translation>
    </message>
    <message>
        <location line="+4"/>
        <location line="+744"/>
        <source>Conversations</source>
        <translation>Conversaciones</translation>
    </message>
    <message>
        <location line="-733"/>
        <source>Double-click a conversation to open it</source>
        <translation>Haz doble clic en una conversación para abrirla</translation>
    </message>
    <message>
        <location line="+188"/>
        <source>This customer is not in the local data yet.</source>
        <translation>Este cliente aún no está en los datos locales.</translation>
    </message>
    <message>
        <location line="+58"/>
        <source>No conversation selected</source>
        <translation>Ninguna conversación seleccionada</translation>
    </message>
    <message>
        <location line="+410"/>
        <source>Make %1 a separate customer? It leaves “%2” with its conversations.</source>
        <translation>¿Convertir %1 en un cliente aparte? Sale de «%2» con sus conversaciones.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Split</source>
        <translation>Separar</translation>
    </message>
    <message>
        <location line="+51"/>
        <source>This channel is no longer this customer&apos;s; nothing was changed.</source>
        <translation>Este canal ya no es de este cliente; no se ha cambiado nada.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Not done: %1</source>
        <translation>No se ha hecho: %1</translation>
    </message>
    <message>
        <location line="+20"/>
        <source>Conversations (%1)</source>
        <translation>Conversaciones (%1)</translation>
    </message>
    <message>
        <location line="+15"/>
        <source>no case type</source>
        <translation>sin tipo de caso</translation>
    </message>
    <message>
        <location line="-5"/>
        <source> (this one)</source>
        <translation> (la actual)</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>Messages: %1</source>
        <translation>Mensajes: %1</translation>
    </message>
    <message>
        <location line="-2"/>
        <source>Public post</source>
        <translation>Publicación pública</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Private</source>
        <translation>Privada</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Priority: %1</source>
        <translation>Prioridad: %1</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Internal notes: %1</source>
        <translation>Notas internas: %1</translation>
    </message>
    <message>
        <location line="+23"/>
        <source>Unknown agent</source>
        <translation>Agente desconocido</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Internal note · %1 · %2</source>
        <translation>Nota interna · %1 · %2</translation>
    </message>
    <message>
        <location line="+28"/>
        <source>Your session has ended: sign in again to save changes.</source>
        <translation>Tu sesión ha terminado: vuelve a iniciar sesión para guardar cambios.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Offline: the change was not saved. Try again when the connection is back.</source>
        <translation>Sin conexión: el cambio no se ha guardado. Vuelve a intentarlo cuando vuelva la conexión.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>The team server is busy: try again in a moment.</source>
        <translation>El servidor del equipo está ocupado: vuelve a intentarlo en un momento.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Not allowed: %1</source>
        <translation>No permitido: %1</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>The team server no longer has this (%1).</source>
        <translation>El servidor del equipo ya no tiene esto (%1).</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>The team server did not accept these values: %1</source>
        <translation>El servidor del equipo no ha aceptado estos valores: %1</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The team server could not save the change (error %1); try again.</source>
        <translation>El servidor del equipo no ha podido guardar el cambio (error %1); vuelve a intentarlo.</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Not saved: a customer can have at most %1 tags.</source>
        <translation>No guardado: un cliente puede tener como máximo %1 etiquetas.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Not saved: a tag can be at most %1 characters long.</source>
        <translation>No guardado: una etiqueta puede tener como máximo %1 caracteres.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Not saved: a customer can have at most %1 fields.</source>
        <translation>No guardado: un cliente puede tener como máximo %1 campos.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Not saved: the field “%1” appears twice.</source>
        <translation>No guardado: el campo «%1» aparece dos veces.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Not saved: a field name can be at most %1 characters long.</source>
        <translation>No guardado: el nombre de un campo puede tener como máximo %1 caracteres.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Not saved: the value of “%1” is longer than %2 characters.</source>
        <translation>No guardado: el valor de «%1» tiene más de %2 caracteres.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Not saved: the notes can be at most %1 characters long.</source>
        <translation>No guardado: las notas pueden tener como máximo %1 caracteres.</translation>
    </message>
</context>
<context>
    <name>DashboardPdf</name>
    <message>
        <location filename="../../ui/dashboard_pdf.py" line="+120"/>
        <source>%1 · page %2</source>
        <translation>%1 · página %2</translation>
    </message>
    <message>
        <location line="+140"/>
        <source>Nothing in this range.</source>
        <translation>Nada en este periodo.</translation>
    </message>
</context>
<context>
    <name>DashboardWindow</name>
    <message>
        <location filename="../../ui/dashboard.py" line="+43"/>
        <location line="+15"/>
        <location line="+525"/>
        <source>Dashboard</source>
        <translation>Panel de indicadores</translation>
    </message>
    <message>
        <location line="-518"/>
        <source>Date range</source>
        <translation>Periodo</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Today</source>
        <translation>Hoy</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Last 7 days</source>
        <translation>Últimos 7 días</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Last 30 days</source>
        <translation>Últimos 30 días</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>This month</source>
        <translation>Este mes</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Custom range</source>
        <translation>Periodo personalizado</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>From</source>
        <translation>Desde</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>To</source>
        <translation>Hasta</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Channel</source>
        <translation>Canal</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>All channels</source>
        <translation>Todos los canales</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Agent</source>
        <translation>Agente</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Everyone</source>
        <translation>Todo el equipo</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Refresh</source>
        <translation>Actualizar</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Export CSV…</source>
        <translation>Exportar CSV…</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>One CSV file per table, in a folder you choose</source>
        <translation>Un archivo CSV por tabla, en la carpeta que elijas</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Export PDF…</source>
        <translation>Exportar PDF…</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>The whole dashboard on A4 pages, to print or send</source>
        <translation>El panel completo en páginas A4, para imprimir o enviar</translation>
    </message>
    <message>
        <location line="+60"/>
        <location line="+1"/>
        <location line="+393"/>
        <source>By channel</source>
        <translation>Por canal</translation>
    </message>
    <message>
        <location line="-391"/>
        <location line="+1"/>
        <location line="+392"/>
        <source>By agent</source>
        <translation>Por agente</translation>
    </message>
    <message>
        <location line="-390"/>
        <location line="+1"/>
        <location line="+390"/>
        <source>Cost per channel</source>
        <translation>Coste por canal</translation>
    </message>
    <message>
        <location line="-275"/>
        <source>%1 / 5</source>
        <translation>%1 / 5</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Conversations</source>
        <translation>Conversaciones</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>%1 customer messages · %2 replies</source>
        <translation>%1 mensajes de clientes · %2 respuestas</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Conversations with a customer message in the range</source>
        <translation>Conversaciones con algún mensaje de cliente en el periodo</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>First response (median)</source>
        <translation>Primera respuesta (mediana)</translation>
    </message>
    <message>
        <location line="+1"/>
        <location line="+3"/>
        <source>90% within %1</source>
        <translation>el 90&#xa0;% en menos de %1</translation>
    </message>
    <message>
        <location line="-2"/>
        <source>Time to the first reply, counted in business hours</source>
        <translation>Tiempo hasta la primera respuesta, contado en horario de atención</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Next response (median)</source>
        <translation>Respuestas siguientes (mediana)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Time to answer each later customer message, counted in business hours</source>
        <translation>Tiempo en contestar cada mensaje posterior del cliente, contado en horario de atención</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Resolution (median)</source>
        <translation>Resolución (mediana)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>%1 resolved</source>
        <translation>%1 resueltas</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>From the first message to resolved, in clock time</source>
        <translation>Desde el primer mensaje hasta la resolución, en tiempo real</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>SLA compliance</source>
        <translation>Cumplimiento del SLA</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>%1 of %2 responses on target</source>
        <translation>%1 de %2 respuestas dentro del objetivo</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Customer satisfaction</source>
        <translation>Satisfacción del cliente</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>%1 answers · %2 surveys sent</source>
        <translation>%1 respuestas · %2 encuestas enviadas</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Reopen rate</source>
        <translation>Tasa de reapertura</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>%1 of %2 resolved had been reopened</source>
        <translation>%1 de %2 resueltas se habían reabierto</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Backlog now</source>
        <translation>Pendientes ahora</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>%1 open</source>
        <translation>%1 abiertas</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>%1 waiting · %2 past target · oldest wait %3</source>
        <translation>%1 esperando · %2 fuera de objetivo · espera más larga %3</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Open conversations now, whatever the date range</source>
        <translation>Conversaciones abiertas ahora, sea cual sea el periodo</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Cost per resolved conversation</source>
        <translation>Coste por conversación resuelta</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>%1 of agent time in all</source>
        <translation>%1 de tiempo de agente en total</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Saving vs phone</source>
        <translation>Ahorro frente al teléfono</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Phone would have cost %1 · return %2</source>
        <translation>Por teléfono habría costado %1 · rendimiento %2</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>no data</source>
        <translation>sin datos</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>%1 %2</source>
        <translation>%1 %2</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>Negative</source>
        <translation>Negativo</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Neutral</source>
        <translation>Neutro</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Positive</source>
        <translation>Positivo</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>&lt; 1 h</source>
        <translation>&lt; 1 h</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>1–4 h</source>
        <translation>1–4 h</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>4–24 h</source>
        <translation>4–24 h</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>1–3 d</source>
        <translation>1–3 d</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>&gt; 3 d</source>
        <translation>&gt; 3 d</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Customer messages by hour (%1)</source>
        <translation>Mensajes de clientes por hora (%1)</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Customer messages by weekday</source>
        <translation>Mensajes de clientes por día de la semana</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Customer messages by channel</source>
        <translation>Mensajes de clientes por canal</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Resolved by case type</source>
        <translation>Resueltas por tipo de caso</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>No case type</source>
        <translation>Sin tipo de caso</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Sentiment of customer messages</source>
        <translation>Sentimiento de los mensajes de clientes</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Satisfaction answers by score</source>
        <translation>Respuestas de satisfacción por puntuación</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Backlog by waiting time (now)</source>
        <translation>Pendientes por tiempo de espera (ahora)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>nobody waiting</source>
        <translation>nadie esperando</translation>
    </message>
    <message>
        <location line="+112"/>
        <source>You are offline: these are the figures as of %1.</source>
        <translation>Estás sin conexión: estas son las cifras de las %1.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>You are offline: the figures load once you are connected again.</source>
        <translation>Estás sin conexión: las cifras se cargarán cuando vuelvas a estar conectado.</translation>
    </message>
    <message>
        <location line="+13"/>
        <location line="+98"/>
        <source>times in %1</source>
        <translation>horas en %1</translation>
    </message>
    <message>
        <location line="-96"/>
        <source>loading…</source>
        <translation>cargando…</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>updated %1</source>
        <translation>actualizado a las %1</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>your own figures</source>
        <translation>tus propias cifras</translation>
    </message>
    <message>
        <location line="+24"/>
        <source>Cost model: %1 an agent hour, %2 of agent time per reply, %3 a phone contact; %4 of resolved conversations would otherwise have called.</source>
        <translation>Modelo de costes: %1 la hora de agente, %2 de agente por respuesta, %3 el contacto telefónico; el %4 de las conversaciones resueltas habría llamado si no.</translation>
    </message>
    <message>
        <location line="+69"/>
        <source>figures as of %1</source>
        <translation>cifras a %1</translation>
    </message>
    <message>
        <location line="+19"/>
        <source>Export CSV: choose a folder</source>
        <translation>Exportar CSV: elige una carpeta</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>Could not write the CSV files: %1</source>
        <translation>No se pudieron escribir los archivos CSV: %1</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Saved %1 CSV files in %2.</source>
        <translation>Se han guardado %1 archivos CSV en %2.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Export PDF</source>
        <translation>Exportar PDF</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>PDF files (*.pdf)</source>
        <translation>Archivos PDF (*.pdf)</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>Could not write the PDF: %1</source>
        <translation>No se pudo escribir el PDF: %1</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Saved the dashboard (%1 pages) as %2.</source>
        <translation>Se ha guardado el panel (%1 páginas) como %2.</translation>
    </message>
</context>
<context>
    <name>EditAgentDialog</name>
    <message>
        <location filename="../../ui/team_dialogs.py" line="+250"/>
        <source>Edit agent: %1</source>
        <translation>Editar agente: %1</translation>
    </message>
    <message>
        <location line="+17"/>
        <location line="+3"/>
        <source>Time zone</source>
        <translation>Zona horaria</translation>
    </message>
    <message>
        <location line="-1"/>
        <source>Agent</source>
        <translation>Agente</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Shifts</source>
        <translation>Turnos</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Day off</source>
        <translation>Libre</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Same as Monday, Tuesday to Friday</source>
        <translation>De martes a viernes, igual que el lunes</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>For example 09:00–17:00, or 09:00–13:00, 14:00–18:00. A shift that ends before it starts runs past midnight. No shifts at all: always on shift.</source>
        <translation>Por ejemplo 09:00–17:00, o 09:00–13:00, 14:00–18:00. Un turno que termina antes de empezar pasa de la medianoche. Sin ningún turno: siempre en turno.</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Capacity</source>
        <translation>Capacidad</translation>
    </message>
    <message>
        <location line="+3"/>
        <location line="+57"/>
        <source>Channel</source>
        <translation>Canal</translation>
    </message>
    <message>
        <location line="-57"/>
        <location line="+61"/>
        <source>Open conversations</source>
        <translation>Conversaciones abiertas</translation>
    </message>
    <message>
        <location line="-56"/>
        <source>Capacity per channel</source>
        <translation>Capacidad por canal</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Add channel</source>
        <translation>Añadir canal</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Remove</source>
        <translation>Quitar</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>“All other channels” covers every channel without a line of its own. No lines: the team default, %1 conversations for all channels together.</source>
        <translation>«Todos los demás canales» cubre cada canal sin línea propia. Sin líneas: lo predeterminado del equipo, %1 conversaciones entre todos los canales.</translation>
    </message>
    <message>
        <location line="+26"/>
        <source>All other channels</source>
        <translation>Todos los demás canales</translation>
    </message>
    <message>
        <location line="+49"/>
        <source>At most %1 shifts a week.</source>
        <translation>Como máximo %1 turnos por semana.</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>%1 is listed twice under capacity.</source>
        <translation>%1 aparece dos veces en la capacidad.</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>“%1” is not a time zone (for example Europe/Madrid).</source>
        <translation>«%1» no es una zona horaria (por ejemplo Europe/Madrid).</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Saving…</source>
        <translation>Guardando…</translation>
    </message>
</context>
<context>
    <name>EndShiftDialog</name>
    <message>
        <location filename="../../ui/end_shift.py" line="+34"/>
        <location line="+39"/>
        <source>End shift</source>
        <translation>Terminar turno</translation>
    </message>
    <message>
        <location line="-33"/>
        <source>Your open conversations go to:</source>
        <translation>Tus conversaciones abiertas pasan a:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The unassigned queue</source>
        <translation>La cola sin asignar</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>A colleague:</source>
        <translation>Alguien del equipo:</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Colleague</source>
        <translation>Persona del equipo</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Optional: a word for whoever takes over</source>
        <translation>Opcional: unas palabras para quien las reciba</translation>
    </message>
    <message>
        <location line="+1"/>
        <location line="+21"/>
        <source>Reason</source>
        <translation>Motivo</translation>
    </message>
    <message>
        <location line="-20"/>
        <source>Go offline</source>
        <translation>Pasar a desconectado</translation>
    </message>
    <message>
        <location line="+15"/>
        <source>Cancel</source>
        <translation>Cancelar</translation>
    </message>
    <message>
        <location line="+24"/>
        <source>Handing over…</source>
        <translation>Traspasando…</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>You are offline; try again when connected.</source>
        <translation>Estás sin conexión; inténtalo de nuevo cuando haya conexión.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Your session has ended; sign in again.</source>
        <translation>Tu sesión ha terminado; vuelve a iniciar sesión.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>The server refused: %1</source>
        <translation>El servidor lo rechazó: %1</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>You had no open conversations to hand over.</source>
        <translation>No tenías conversaciones abiertas que traspasar.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>1 conversation handed over.</source>
        <translation>1 conversación traspasada.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>%1 conversations handed over.</source>
        <translation>%1 conversaciones traspasadas.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Close</source>
        <translation>Cerrar</translation>
    </message>
</context>
<context>
    <name>FeedDelegate</name>
    <message>
        <location filename="../../ui/feed_delegate.py" line="+90"/>
        <source>Public</source>
        <translation>Pública</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Follow-up due</source>
        <translation>Seguimiento</translation>
    </message>
</context>
<context>
    <name>FollowUpRow</name>
    <message>
        <location filename="../../ui/customer_pane.py" line="-1065"/>
        <source>Overdue since %1</source>
        <translation>Vencido desde el %1</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Due %1</source>
        <translation>Para el %1</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Done</source>
        <translation>Hecho</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Mark this follow-up as done</source>
        <translation>Marcar este seguimiento como hecho</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Mark follow-up %1 as done</source>
        <translation>Marcar como hecho el seguimiento del %1</translation>
    </message>
</context>
<context>
    <name>HoursEditor</name>
    <message>
        <location filename="../../ui/care_dialog.py" line="-686"/>
        <location line="+31"/>
        <source>Time zone</source>
        <translation>Zona horaria</translation>
    </message>
    <message>
        <location line="-30"/>
        <source>Always open (24 hours, every day, no holidays)</source>
        <translation>Siempre abierto (24 horas, todos los días, sin festivos)</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Open hours</source>
        <translation>Horario de apertura</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Weekly hours</source>
        <translation>Horario semanal</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Holidays</source>
        <translation>Festivos</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Holiday date</source>
        <translation>Fecha del festivo</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Add holiday</source>
        <translation>Añadir festivo</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Remove holiday</source>
        <translation>Quitar festivo</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Now</source>
        <translation>Ahora</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Every week</source>
        <translation>Cada semana</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Write a day&apos;s open hours as 09:00–14:00, 15:00–18:00; leave the day empty when closed. An interval that ends before it starts runs past midnight; 00:00–24:00 is the whole day.</source>
        <translation>Escribe el horario de un día como 09:00–14:00, 15:00–18:00; deja el día vacío si está cerrado. Un intervalo que termina antes de empezar pasa de la medianoche; 00:00–24:00 es el día entero.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Holidays (closed all day)</source>
        <translation>Festivos (cerrado todo el día)</translation>
    </message>
    <message>
        <location line="+45"/>
        <source>Not saved yet: the server shows its hours once saved.</source>
        <translation>Aún sin guardar: el servidor mostrará su horario una vez guardado.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Open now</source>
        <translation>Abierto ahora</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Closed now</source>
        <translation>Cerrado ahora</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Open now; closes %1</source>
        <translation>Abierto ahora; cierra el %1</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Closed now; opens %1</source>
        <translation>Cerrado ahora; abre el %1</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>As saved: %1</source>
        <translation>Guardado: %1</translation>
    </message>
    <message>
        <location line="+59"/>
        <source>%1: “%2” is not a time zone (for example Europe/Madrid).</source>
        <translation>%1: «%2» no es una zona horaria (por ejemplo Europe/Madrid).</translation>
    </message>
    <message>
        <location line="+24"/>
        <source>%1, %2: “%3” is not an interval: write it as 09:00–18:00.</source>
        <translation>%1, %2: «%3» no es un intervalo: escríbelo como 09:00–18:00.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>%1, %2: “%3” is not a time of day (00:00 to 24:00).</source>
        <translation>%1, %2: «%3» no es una hora del día (de 00:00 a 24:00).</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>%1, %2: “%3” starts at 24:00; start the next day at 00:00 instead.</source>
        <translation>%1, %2: «%3» empieza a las 24:00; empiézalo el día siguiente a las 00:00.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>%1, %2: “%3” starts and ends at the same time; for the whole day write 00:00–24:00.</source>
        <translation>%1, %2: «%3» empieza y termina a la misma hora; para el día entero escribe 00:00–24:00.</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>%1, %2: at most %3 intervals a day.</source>
        <translation>%1, %2: como máximo %3 intervalos al día.</translation>
    </message>
</context>
<context>
    <name>HoursTab</name>
    <message>
        <location line="+12"/>
        <source>Hours for</source>
        <translation>Horario de</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Channel</source>
        <translation>Canal</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Add hours for a channel</source>
        <translation>Añadir horario para un canal</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Remove the channel&apos;s hours</source>
        <translation>Quitar el horario del canal</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>A channel without hours of its own uses the team&apos;s.</source>
        <translation>Un canal sin horario propio usa el del equipo.</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Team (all channels)</source>
        <translation>Equipo (todos los canales)</translation>
    </message>
</context>
<context>
    <name>KpiFormat</name>
    <message>
        <location filename="../../ui/dashboard_model.py" line="-227"/>
        <source>%1 s</source>
        <translation>%1 s</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>%1 min</source>
        <translation>%1 min</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>%1 h</source>
        <translation>%1 h</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>%1 h %2 min</source>
        <translation>%1 h %2 min</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>%1 d</source>
        <translation>%1 d</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>%1 d %2 h</source>
        <translation>%1 d %2 h</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>%1%</source>
        <translation>%1&#xa0;%</translation>
    </message>
    <message>
        <location line="+16"/>
        <source>%1 – %2</source>
        <translation>%1 – %2</translation>
    </message>
</context>
<context>
    <name>KpiTableModel</name>
    <message>
        <location line="+115"/>
        <source>All channels</source>
        <translation>Todos los canales</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Everyone</source>
        <translation>Todo el equipo</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Agent %1</source>
        <translation>Agente %1</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Channel</source>
        <translation>Canal</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Agent</source>
        <translation>Agente</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Conversations</source>
        <translation>Conversaciones</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Customer
messages</source>
        <translation>Mensajes
de clientes</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Customer messages</source>
        <translation>Mensajes de clientes</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Replies</source>
        <translation>Respuestas</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Resolved</source>
        <translation>Resueltas</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>First response
median</source>
        <translation>Primera respuesta
mediana</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>First response median (min)</source>
        <translation>Primera respuesta mediana (min)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>First response
90th percentile</source>
        <translation>Primera respuesta
percentil 90</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>First response p90 (min)</source>
        <translation>Primera respuesta p90 (min)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Next response
median</source>
        <translation>Respuestas siguientes
mediana</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Next response median (min)</source>
        <translation>Respuestas siguientes mediana (min)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Resolution
median</source>
        <translation>Resolución
mediana</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Resolution median (min)</source>
        <translation>Resolución mediana (min)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>SLA
compliance</source>
        <translation>Cumplimiento
del SLA</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>SLA compliance (%)</source>
        <translation>Cumplimiento del SLA (%)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>CSAT</source>
        <translation>CSAT</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>CSAT average (1-5)</source>
        <translation>CSAT media (1-5)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>CSAT
answers</source>
        <translation>Respuestas
CSAT</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>CSAT answers</source>
        <translation>Respuestas CSAT</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Reopen
rate</source>
        <translation>Tasa de
reapertura</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Reopen rate (%)</source>
        <translation>Tasa de reapertura (%)</translation>
    </message>
</context>
<context>
    <name>LeadBoard</name>
    <message>
        <location filename="../../ui/lead_board.py" line="-314"/>
        <source>&lt;1 min</source>
        <translation>&lt;1 min</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>%1 min</source>
        <translation>%1 min</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>%1 h</source>
        <translation>%1 h</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>%1 h %2 min</source>
        <translation>%1 h %2 min</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>%1 d</source>
        <translation>%1 d</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>%1 d %2 h</source>
        <translation>%1 d %2 h</translation>
    </message>
    <message>
        <location line="+394"/>
        <location line="+15"/>
        <source>Team board</source>
        <translation>Panel del equipo</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Reason (optional)</source>
        <translation>Motivo (opcional)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Reason for the next move</source>
        <translation>Motivo del próximo movimiento</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Kept with the next conversations you move, in their history</source>
        <translation>Se guarda con las próximas conversaciones que muevas, en su historial</translation>
    </message>
    <message>
        <location line="+2"/>
        <location line="+397"/>
        <source>Routing settings…</source>
        <translation>Reglas de reparto…</translation>
    </message>
    <message>
        <location line="-394"/>
        <source>Hours and SLA…</source>
        <translation>Horario y SLA…</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Channels…</source>
        <translation>Canales…</translation>
    </message>
    <message>
        <location line="+3"/>
        <location line="+383"/>
        <source>Edit agent…</source>
        <translation>Editar agente…</translation>
    </message>
    <message>
        <location line="-381"/>
        <source>Read only: only leads move conversations.</source>
        <translation>Solo lectura: solo los supervisores mueven conversaciones.</translation>
    </message>
    <message>
        <location line="+16"/>
        <location line="+9"/>
        <source>Agents</source>
        <translation>Agentes</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>The agent&apos;s conversations</source>
        <translation>Conversaciones del agente</translation>
    </message>
    <message>
        <location line="+10"/>
        <location line="+184"/>
        <location line="+130"/>
        <source>Unassigned queue</source>
        <translation>Cola sin asignar</translation>
    </message>
    <message>
        <location line="-273"/>
        <source>Drag conversations onto an agent, or onto the queue to unassign them; right-click for more.</source>
        <translation>Arrastra conversaciones a un agente, o a la cola para desasignarlas; clic derecho para más opciones.</translation>
    </message>
    <message>
        <location line="+140"/>
        <source>Conversations of %1</source>
        <translation>Conversaciones de %1</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Conversations</source>
        <translation>Conversaciones</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Unassigned queue · nobody waiting</source>
        <translation>Cola sin asignar · nadie esperando</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Unassigned queue · 1 conversation</source>
        <translation>Cola sin asignar · 1 conversación</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Unassigned queue · %1 conversations</source>
        <translation>Cola sin asignar · %1 conversaciones</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>longest %1</source>
        <translation>espera máxima %1</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>1 move was refused (in red): open the conversation to see why, retry or discard it.</source>
        <translation>Se ha rechazado 1 movimiento (en rojo): abre la conversación para ver por qué, reintentarlo o descartarlo.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>%1 moves were refused (in red): open a conversation to see why, retry or discard it.</source>
        <translation>Se han rechazado %1 movimientos (en rojo): abre una conversación para ver por qué, reintentarlo o descartarlo.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>1 move waiting to be sent.</source>
        <translation>1 movimiento pendiente de enviar.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>%1 moves waiting to be sent.</source>
        <translation>%1 movimientos pendientes de enviar.</translation>
    </message>
    <message>
        <location line="+43"/>
        <source>Already there: nothing to move.</source>
        <translation>Ya están ahí: nada que mover.</translation>
    </message>
    <message>
        <location line="+20"/>
        <source>Moved 1 conversation to the unassigned queue.</source>
        <translation>1 conversación movida a la cola sin asignar.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Moved %1 conversations to the unassigned queue.</source>
        <translation>%1 conversaciones movidas a la cola sin asignar.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Moved 1 conversation to %1.</source>
        <translation>1 conversación movida a %1.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Moved %1 conversations to %2.</source>
        <translation>%1 conversaciones movidas a %2.</translation>
    </message>
    <message>
        <location line="+27"/>
        <source>Assign to</source>
        <translation>Asignar a</translation>
    </message>
    <message>
        <location line="+18"/>
        <source>Open conversation</source>
        <translation>Abrir conversación</translation>
    </message>
    <message>
        <location line="+68"/>
        <source>Routing settings saved.</source>
        <translation>Reglas de reparto guardadas.</translation>
    </message>
    <message>
        <location line="+16"/>
        <source>Saved %1&apos;s time zone, shifts and capacity.</source>
        <translation>Guardados la zona horaria, los turnos y la capacidad de %1.</translation>
    </message>
</context>
<context>
    <name>LoginDialog</name>
    <message>
        <location filename="../../ui/login_dialog.py" line="+16"/>
        <source>Sign in to Workstation</source>
        <translation>Iniciar sesión en Workstation</translation>
    </message>
    <message>
        <location line="+15"/>
        <source>Server</source>
        <translation>Servidor</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Email</source>
        <translation>Correo electrónico</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Password</source>
        <translation>Contraseña</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Sign in</source>
        <translation>Iniciar sesión</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Cancel</source>
        <translation>Cancelar</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>Fill in the server, your email and your password.</source>
        <translation>Rellena el servidor, tu correo electrónico y tu contraseña.</translation>
    </message>
    <message>
        <location filename="../../ui/app.py" line="+234"/>
        <source>Your session has expired. Sign in again.</source>
        <translation>Tu sesión ha caducado. Vuelve a iniciar sesión.</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Too many sign-in attempts. Try again in a minute.</source>
        <translation>Demasiados intentos de inicio de sesión. Vuelve a intentarlo dentro de un minuto.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Too many sign-in attempts. Try again in %1 minutes.</source>
        <translation>Demasiados intentos de inicio de sesión. Vuelve a intentarlo dentro de %1 minutos.</translation>
    </message>
    <message>
        <location line="+44"/>
        <source>Wrong email or password.</source>
        <translation>Correo o contraseña incorrectos.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Cannot reach the server at %1.</source>
        <translation>No se puede conectar con el servidor en %1.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>The server refused the sign-in (%1).</source>
        <translation>El servidor ha rechazado el inicio de sesión (%1).</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <location filename="../../ui/main_window.py" line="+96"/>
        <source>Workstation — %1</source>
        <translation>Workstation — %1</translation>
    </message>
    <message>
        <location line="+13"/>
        <location line="+1059"/>
        <source>Conversations</source>
        <translation>Conversaciones</translation>
    </message>
    <message>
        <location line="-1054"/>
        <source>Search messages, customers, numbers…</source>
        <translation>Buscar mensajes, clientes, números…</translation>
    </message>
    <message>
        <location line="+134"/>
        <source>Select a conversation in the feed.</source>
        <translation>Selecciona una conversación de la lista.</translation>
    </message>
    <message>
        <location line="+22"/>
        <source>Customer</source>
        <translation>Cliente</translation>
    </message>
    <message>
        <location line="+1"/>
        <location line="+909"/>
        <source>Canned responses</source>
        <translation>Respuestas predefinidas</translation>
    </message>
    <message>
        <location line="-882"/>
        <source>Syncing… %p%</source>
        <translation>Sincronizando… %p%</translation>
    </message>
    <message>
        <location line="+327"/>
        <source>%1 not sent</source>
        <translation>%1 sin enviar</translation>
    </message>
    <message>
        <location line="-178"/>
        <source>● Online</source>
        <translation>● En línea</translation>
    </message>
    <message>
        <location line="-325"/>
        <source>All conversations</source>
        <translation>Todas las conversaciones</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Assigned to me</source>
        <translation>Asignadas a mí</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Unread</source>
        <translation>Sin leer</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Resolved</source>
        <translation>Resueltas</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Follow-ups due</source>
        <translation>Seguimientos pendientes</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Order of the feed</source>
        <translation>Orden de la lista</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Newest first</source>
        <translation>Más recientes primero</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Priority first</source>
        <translation>Prioridad primero</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Least time left first</source>
        <translation>Menos tiempo restante primero</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Only conversations of this case type</source>
        <translation>Solo las conversaciones de este tipo de caso</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Any case type</source>
        <translation>Cualquier tipo de caso</translation>
    </message>
    <message>
        <location line="+42"/>
        <source>Send a template…</source>
        <translation>Enviar una plantilla…</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>WhatsApp delivers only approved templates more than 24 hours after the customer&apos;s last message</source>
        <translation>WhatsApp solo entrega plantillas aprobadas pasadas 24 horas desde el último mensaje del cliente</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Reply privately…</source>
        <translation>Responder en privado…</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Send the customer one private message about their comment</source>
        <translation>Enviar al cliente un mensaje privado sobre su comentario</translation>
    </message>
    <message>
        <location line="+260"/>
        <source>● Connecting…</source>
        <translation>● Conectando…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>● Offline — reconnecting</source>
        <translation>● Sin conexión — reconectando</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>%1 queued</source>
        <translation>%1 en cola</translation>
    </message>
    <message>
        <location line="+85"/>
        <source>%1 needs attention</source>
        <translation>%1 requiere atención</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>%1 channels need attention</source>
        <translation>%1 canales requieren atención</translation>
    </message>
    <message>
        <location line="+14"/>
        <source>Open</source>
        <translation>Abierto</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Closed</source>
        <translation>Cerrado</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Open · closes %1</source>
        <translation>Abierto · cierra %1</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Closed · opens %1</source>
        <translation>Cerrado · abre %1</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Business hours: %1</source>
        <translation>Horario de atención: %1</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>open</source>
        <translation>abierto</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>closed</source>
        <translation>cerrado</translation>
    </message>
    <message>
        <location line="+191"/>
        <source>Public</source>
        <translation>Pública</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Private</source>
        <translation>Privada</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Everyone can see the answers in this conversation</source>
        <translation>Todo el mundo ve las respuestas de esta conversación</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Only the customer sees the answers in this conversation</source>
        <translation>Solo el cliente ve las respuestas de esta conversación</translation>
    </message>
    <message>
        <location line="+6"/>
        <location line="+36"/>
        <source>%1 h %2 min</source>
        <translation>%1 h %2 min</translation>
    </message>
    <message>
        <location line="-36"/>
        <location line="+36"/>
        <source>%1 min</source>
        <translation>%1 min</translation>
    </message>
    <message>
        <location line="-34"/>
        <source>%1 days</source>
        <translation>%1 días</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Reply window: %1 left</source>
        <translation>Ventana de respuesta: quedan %1</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The channel lets us answer freely for 24 hours after the customer&apos;s last message.</source>
        <translation>El canal nos deja responder libremente durante 24 horas después del último mensaje del cliente.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Human agent window: %1 left</source>
        <translation>Ventana de agente humano: quedan %1</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>More than 24 hours since the customer&apos;s last message: a person may still answer for up to 7 days.</source>
        <translation>Han pasado más de 24 horas desde el último mensaje del cliente: una persona aún puede responder durante un máximo de 7 días.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Reply window closed: templates only</source>
        <translation>Ventana de respuesta cerrada: solo plantillas</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>More than 24 hours since the customer&apos;s last message: WhatsApp only delivers approved templates until the customer writes again.</source>
        <translation>Han pasado más de 24 horas desde el último mensaje del cliente: WhatsApp solo entrega plantillas aprobadas hasta que el cliente vuelva a escribir.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Reply window closed</source>
        <translation>Ventana de respuesta cerrada</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The channel no longer lets us answer until the customer writes again.</source>
        <translation>El canal ya no nos deja responder hasta que el cliente vuelva a escribir.</translation>
    </message>
    <message>
        <location line="+21"/>
        <source>First response due in %1</source>
        <translation>Primera respuesta en %1</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Next response due in %1</source>
        <translation>Siguiente respuesta en %1</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>First response overdue by %1</source>
        <translation>Primera respuesta con %1 de retraso</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Next response overdue by %1</source>
        <translation>Siguiente respuesta con %1 de retraso</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Due at %1</source>
        <translation>Vence a las %1</translation>
    </message>
    <message>
        <location line="+59"/>
        <source>Assign to me; the arrow assigns to a colleague or the queue</source>
        <translation>Asignármela; la flecha la asigna a otra persona o a la cola</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Assigned to a colleague: ask a lead to move it</source>
        <translation>Asignada a otra persona: pide a un responsable que la mueva</translation>
    </message>
    <message>
        <location line="+24"/>
        <source>Unassigned queue</source>
        <translation>Cola sin asignar</translation>
    </message>
    <message>
        <location line="+15"/>
        <source>Move conversation</source>
        <translation>Mover la conversación</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Reason (optional):</source>
        <translation>Motivo (opcional):</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Move</source>
        <translation>Mover</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Cancel</source>
        <translation>Cancelar</translation>
    </message>
    <message>
        <location line="+47"/>
        <source>Possible crisis</source>
        <translation>Posible crisis</translation>
    </message>
    <message>
        <location line="+203"/>
        <source>Search</source>
        <translation>Buscar</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Feed view</source>
        <translation>Vista de la lista</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Messages</source>
        <translation>Mensajes</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Reply text</source>
        <translation>Texto de la respuesta</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Reply or internal note</source>
        <translation>Respuesta o nota interna</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Assignment</source>
        <translation>Asignación</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>My status</source>
        <translation>Mi estado</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Status</source>
        <translation>Estado</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Customer&apos;s conversations</source>
        <translation>Conversaciones del cliente</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Search canned responses</source>
        <translation>Buscar respuestas predefinidas</translation>
    </message>
    <message>
        <location line="+3"/>
        <location line="+1"/>
        <source>Customer and canned responses</source>
        <translation>Cliente y respuestas predefinidas</translation>
    </message>
    <message>
        <location line="+91"/>
        <source>A colleague</source>
        <translation>Alguien del equipo</translation>
    </message>
    <message>
        <location line="+15"/>
        <source>A colleague replied</source>
        <translation>Alguien del equipo ha respondido</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>%1 replied while you were writing. Send anyway?</source>
        <translation>%1 ha respondido mientras escribías. ¿Enviar de todos modos?</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Send anyway</source>
        <translation>Enviar igualmente</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Don&apos;t send</source>
        <translation>No enviar</translation>
    </message>
    <message>
        <location line="+25"/>
        <source>Your status: %1</source>
        <translation>Tu estado: %1</translation>
    </message>
    <message>
        <location line="+20"/>
        <source>You are offline; your status will be set when you reconnect.</source>
        <translation>Estás sin conexión; tu estado se aplicará al reconectar.</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Your status was not changed: %1</source>
        <translation>Tu estado no ha cambiado: %1</translation>
    </message>
    <message>
        <location line="+38"/>
        <source>Shift ended: 1 conversation handed over.</source>
        <translation>Turno terminado: 1 conversación traspasada.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Shift ended: %1 conversations handed over.</source>
        <translation>Turno terminado: %1 conversaciones traspasadas.</translation>
    </message>
    <message>
        <location line="-1262"/>
        <location line="+698"/>
        <source>Unassigned</source>
        <translation>Sin asignar</translation>
    </message>
    <message>
        <location line="-371"/>
        <source>● Session expired — sign in again</source>
        <translation>● Sesión caducada — vuelve a iniciar sesión</translation>
    </message>
    <message>
        <location line="+373"/>
        <source>Assigned to you</source>
        <translation>Asignada a ti</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Assigned to %1</source>
        <translation>Asignada a %1</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Unassign</source>
        <translation>Desasignar</translation>
    </message>
    <message>
        <location line="+0"/>
        <location line="+56"/>
        <source>Assign to me</source>
        <translation>Asignármela</translation>
    </message>
    <message>
        <location line="-53"/>
        <source>Reopen</source>
        <translation>Reabrir</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Resolve</source>
        <translation>Resolver</translation>
    </message>
    <message>
        <location line="+212"/>
        <source>Retry</source>
        <translation>Reintentar</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Discard</source>
        <translation>Descartar</translation>
    </message>
    <message>
        <location filename="../../ui/app.py" line="-86"/>
        <source>Demo: messages arrive from the WhatsApp sandbox every few seconds.</source>
        <translation>Demo: cada pocos segundos llegan mensajes del simulador de WhatsApp.</translation>
    </message>
    <message>
        <location line="+136"/>
        <source>No system keyring</source>
        <translation>No hay llavero del sistema</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>No working system keyring was found (%1). Your session is kept only until you close Workstation; you will sign in again next time.</source>
        <translation>No se ha encontrado un llavero del sistema que funcione (%1). Tu sesión se guarda solo hasta que cierres Workstation; la próxima vez tendrás que volver a iniciar sesión.</translation>
    </message>
</context>
<context>
    <name>Notifier</name>
    <message>
        <location filename="../../ui/notifier.py" line="+43"/>
        <source>Show Workstation</source>
        <translation>Mostrar Workstation</translation>
    </message>
    <message>
        <location line="+18"/>
        <source>Workstation — %1 waiting</source>
        <translation>Workstation — %1 en espera</translation>
    </message>
    <message>
        <location line="+16"/>
        <source>Response overdue: %1</source>
        <translation>Respuesta vencida: %1</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Response overdue in the team: %1</source>
        <translation>Respuesta vencida en el equipo: %1</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Follow-up due: %1</source>
        <translation>Seguimiento pendiente: %1</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Assigned to you</source>
        <translation>Asignada a ti</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>New message from %1</source>
        <translation>Nuevo mensaje de %1</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>%1 mentioned you</source>
        <translation>%1 te ha mencionado</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>A teammate</source>
        <translation>Alguien del equipo</translation>
    </message>
</context>
<context>
    <name>PlaybookDialog</name>
    <message>
        <location filename="../../ui/crisis_banner.py" line="-219"/>
        <location line="+4"/>
        <source>Crisis playbook</source>
        <translation>Protocolo de crisis</translation>
    </message>
    <message>
        <location line="+1"/>
        <location line="+8"/>
        <source>No playbook has been written yet.</source>
        <translation>Todavía no se ha escrito ningún protocolo.</translation>
    </message>
</context>
<context>
    <name>PriorityTab</name>
    <message>
        <location filename="../../ui/care_dialog.py" line="+226"/>
        <source>The server&apos;s built-in keyword lists are in use. Lists you write here replace them, for both languages.</source>
        <translation>Se usan las listas de palabras clave integradas del servidor. Las listas que escribas aquí las sustituyen, en los dos idiomas.</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Negations (a keyword shortly after one does not count)</source>
        <translation>Negaciones (una palabra clave poco después de una de ellas no cuenta)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Spanish</source>
        <translation>Español</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>English</source>
        <translation>Inglés</translation>
    </message>
    <message>
        <location line="+18"/>
        <source>Levels added for a VIP customer</source>
        <translation>Niveles que suma un cliente VIP</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Levels added for a public post</source>
        <translation>Niveles que suma una publicación pública</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Unanswered messages from a customer that raise the priority</source>
        <translation>Mensajes sin respuesta de un cliente que suben la prioridad</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>… when they come within</source>
        <translation>… si llegan en</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>A negation counts up to this many words before a keyword</source>
        <translation>Una negación cuenta hasta estas palabras antes de una palabra clave</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>None</source>
        <translation>Ninguno</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Never</source>
        <translation>Nunca</translation>
    </message>
    <message>
        <location line="+1"/>
        <source> min</source>
        <translation> min</translation>
    </message>
    <message>
        <location line="+1"/>
        <source> words</source>
        <translation> palabras</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>One keyword or phrase per line; capitals and accents do not matter. A word ending in * matches every word that starts with it (at least three letters before *). The strongest level found wins.</source>
        <translation>Una palabra clave o frase por línea; no importan las mayúsculas ni las tildes. Una palabra que termina en * coincide con todas las que empiezan igual (al menos tres letras antes del *). Gana el nivel más alto encontrado.</translation>
    </message>
    <message>
        <location line="+45"/>
        <source>%1: “%2…” is longer than %3 characters.</source>
        <translation>%1: «%2…» tiene más de %3 caracteres.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>%1: at most %2 lines.</source>
        <translation>%1: como máximo %2 líneas.</translation>
    </message>
</context>
<context>
    <name>PrivateReplyDialog</name>
    <message>
        <location filename="../../ui/private_reply_dialog.py" line="+28"/>
        <source>Reply privately</source>
        <translation>Responder en privado</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Send privately</source>
        <translation>Enviar en privado</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>One private message to the customer about their comment: the conversation goes on in private when they answer. It can be sent once per comment, within 7 days.</source>
        <translation>Un único mensaje privado al cliente sobre su comentario: la conversación sigue en privado cuando responda. Se puede enviar una vez por comentario, en un plazo de 7 días.</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Hi %1, thanks for your comment. So we can look at your case with your details, let&apos;s continue here in private.</source>
        <translation>Hola %1, gracias por tu comentario. Para revisar tu caso con tus datos, sigamos por aquí en privado.</translation>
    </message>
    <message>
        <location line="+16"/>
        <source>%1 / %2</source>
        <translation>%1 / %2</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Sending…</source>
        <translation>Enviando…</translation>
    </message>
</context>
<context>
    <name>ResolveDialog</name>
    <message>
        <location filename="../../ui/resolve_dialog.py" line="+22"/>
        <source>Resolve conversation</source>
        <translation>Resolver conversación</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Choose a case type…</source>
        <translation>Elige un tipo de caso…</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Check in with the customer later</source>
        <translation>Hacer seguimiento con el cliente más adelante</translation>
    </message>
    <message>
        <location line="+5"/>
        <source> days</source>
        <translation> días</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>What to check (optional)</source>
        <translation>Qué comprobar (opcional)</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Case type</source>
        <translation>Tipo de caso</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>In</source>
        <translation>Dentro de</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Note</source>
        <translation>Nota</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The case type is required: it is counted in the reports.</source>
        <translation>El tipo de caso es obligatorio: se cuenta en los informes.</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Resolve</source>
        <translation>Resolver</translation>
    </message>
</context>
<context>
    <name>RoutingDialog</name>
    <message>
        <location filename="../../ui/team_dialogs.py" line="-246"/>
        <source>Routing settings</source>
        <translation>Reglas de reparto</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Hand out new conversations automatically</source>
        <translation>Repartir las conversaciones nuevas automáticamente</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Off: nothing is handed out; agents take conversations from the queue.</source>
        <translation>Desactivado: no se reparte nada; los agentes toman conversaciones de la cola.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source> conversations</source>
        <translation> conversaciones</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Never</source>
        <translation>Nunca</translation>
    </message>
    <message>
        <location line="+1"/>
        <source> min</source>
        <translation> min</translation>
    </message>
    <message>
        <location line="+4"/>
        <source> s</source>
        <translation> s</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Default capacity per agent</source>
        <translation>Capacidad predeterminada por agente</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Take back unanswered after</source>
        <translation>Retirar las no respondidas tras</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Set offline after disconnected for</source>
        <translation>Poner sin conexión tras estar desconectado</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>An agent&apos;s own capacity, set in Edit agent, replaces the default.</source>
        <translation>La capacidad propia de un agente, fijada en Editar agente, sustituye a la predeterminada.</translation>
    </message>
    <message>
        <location line="+33"/>
        <source>Saving…</source>
        <translation>Guardando…</translation>
    </message>
</context>
<context>
    <name>SettingsDialog</name>
    <message>
        <location filename="../../ui/settings_dialog.py" line="+19"/>
        <source>Settings</source>
        <translation>Ajustes</translation>
    </message>
    <message>
        <location line="+6"/>
        <location line="+4"/>
        <source>Follow the system</source>
        <translation>Según el sistema</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Light</source>
        <translation>Claro</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Dark</source>
        <translation>Oscuro</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Language</source>
        <translation>Idioma</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Theme</source>
        <translation>Tema</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Team server</source>
        <translation>Servidor del equipo</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Show desktop notifications for new assignments and mentions</source>
        <translation>Mostrar notificaciones de escritorio para nuevas asignaciones y menciones</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Play a sound</source>
        <translation>Reproducir un sonido</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Do not disturb</source>
        <translation>No molestar</translation>
    </message>
    <message>
        <location line="+23"/>
        <source>General</source>
        <translation>General</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Notifications</source>
        <translation>Notificaciones</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Shortcuts</source>
        <translation>Atajos</translation>
    </message>
</context>
<context>
    <name>ShortcutSheet</name>
    <message>
        <location filename="../../ui/shortcut_sheet.py" line="+13"/>
        <location line="+4"/>
        <source>Keyboard shortcuts</source>
        <translation>Atajos de teclado</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Action</source>
        <translation>Acción</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Keys</source>
        <translation>Teclas</translation>
    </message>
</context>
<context>
    <name>SlaTab</name>
    <message>
        <location filename="../../ui/care_dialog.py" line="-226"/>
        <location line="+68"/>
        <source>Channel</source>
        <translation>Canal</translation>
    </message>
    <message>
        <location line="-68"/>
        <location line="+69"/>
        <source>Priority</source>
        <translation>Prioridad</translation>
    </message>
    <message>
        <location line="-68"/>
        <location line="+69"/>
        <source>First response</source>
        <translation>Primera respuesta</translation>
    </message>
    <message>
        <location line="-69"/>
        <location line="+70"/>
        <source>Next response</source>
        <translation>Siguiente respuesta</translation>
    </message>
    <message>
        <location line="-65"/>
        <source>Response-time targets</source>
        <translation>Objetivos de tiempo de respuesta</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Add target</source>
        <translation>Añadir objetivo</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Remove target</source>
        <translation>Quitar objetivo</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Count the targets in business hours only (closed time does not count)</source>
        <translation>Contar los objetivos solo en horario de atención (el tiempo cerrado no cuenta)</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>The team has no targets of its own yet: the server&apos;s built-in targets apply. Targets you add here replace all of them.</source>
        <translation>El equipo aún no tiene objetivos propios: se aplican los objetivos integrados del servidor. Los objetivos que añadas aquí los sustituyen todos.</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>Targets are in minutes; “None” sets no clock of that kind. For a conversation the most specific row wins: its channel and priority, then all channels with its priority, then its channel with any priority, then all channels with any priority.</source>
        <translation>Los objetivos van en minutos; «Ninguno» no pone reloj de ese tipo. Para una conversación gana la fila más específica: su canal y su prioridad, luego todos los canales con su prioridad, luego su canal con cualquier prioridad y, por último, todos los canales con cualquier prioridad.</translation>
    </message>
    <message>
        <location line="+27"/>
        <source>None</source>
        <translation>Ninguno</translation>
    </message>
    <message>
        <location line="+1"/>
        <source> min</source>
        <translation> min</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>All channels</source>
        <translation>Todos los canales</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Any priority</source>
        <translation>Cualquier prioridad</translation>
    </message>
    <message>
        <location line="+41"/>
        <source>Two targets for %1 with %2: keep one.</source>
        <translation>Dos objetivos para %1 con %2: deja uno.</translation>
    </message>
</context>
<context>
    <name>TagChip</name>
    <message>
        <location filename="../../ui/customer_pane.py" line="-41"/>
        <source>Remove this tag</source>
        <translation>Quitar esta etiqueta</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Remove tag %1</source>
        <translation>Quitar la etiqueta %1</translation>
    </message>
</context>
<context>
    <name>TeamDialogs</name>
    <message>
        <location filename="../../ui/team_dialogs.py" line="-182"/>
        <source>You are offline; try again when connected.</source>
        <translation>Estás sin conexión; inténtalo de nuevo cuando haya conexión.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Your session has ended; sign in again.</source>
        <translation>Tu sesión ha terminado; vuelve a iniciar sesión.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Not allowed: %1</source>
        <translation>No permitido: %1</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>The server refused: %1</source>
        <translation>El servidor lo ha rechazado: %1</translation>
    </message>
    <message>
        <location line="+14"/>
        <source>“%1” is not a shift: write it as 09:00–17:00.</source>
        <translation>«%1» no es un turno: escríbelo como 09:00–17:00.</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>“%1” is not a time of day (00:00 to 24:00).</source>
        <translation>«%1» no es una hora del día (de 00:00 a 24:00).</translation>
    </message>
</context>
<context>
    <name>TemplateDialog</name>
    <message>
        <location filename="../../ui/template_dialog.py" line="+28"/>
        <source>Send a WhatsApp template</source>
        <translation>Enviar una plantilla de WhatsApp</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Send</source>
        <translation>Enviar</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>More than 24 hours have passed since the customer&apos;s last message: WhatsApp only delivers a template approved for the team&apos;s number. When the customer answers, you can write freely again.</source>
        <translation>Han pasado más de 24 horas desde el último mensaje del cliente: WhatsApp solo entrega una plantilla aprobada para el número del equipo. Cuando el cliente responda, podrás volver a escribir libremente.</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>Template</source>
        <translation>Plantilla</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>The customer will read:</source>
        <translation>El cliente leerá:</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>Loading…</source>
        <translation>Cargando…</translation>
    </message>
    <message>
        <location line="+20"/>
        <source>The team has no approved templates: a lead adds them in the care rules.</source>
        <translation>El equipo no tiene plantillas aprobadas: un responsable las añade en las reglas de atención.</translation>
    </message>
    <message>
        <location line="+21"/>
        <source>Value %1</source>
        <translation>Valor %1</translation>
    </message>
    <message>
        <location line="+24"/>
        <source>Fill in every value first.</source>
        <translation>Rellena antes todos los valores.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Sending…</source>
        <translation>Enviando…</translation>
    </message>
</context>
<context>
    <name>ThreadModel</name>
    <message>
        <location filename="../../ui/thread_model.py" line="+33"/>
        <source>The 24-hour reply window is closed: send an approved template.</source>
        <translation>La ventana de respuesta de 24 horas está cerrada: envía una plantilla aprobada.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The channel&apos;s access token has expired: ask an admin to reconnect it.</source>
        <translation>El token de acceso del canal ha caducado: pide a un administrador que lo vuelva a conectar.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The customer cannot receive this message.</source>
        <translation>El cliente no puede recibir este mensaje.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The channel is busy or unreachable; sending was given up after several tries.</source>
        <translation>El canal está saturado o no responde; se ha cancelado el envío tras varios intentos.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The channel refused this message.</source>
        <translation>El canal ha rechazado este mensaje.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>This channel is not set up for sending.</source>
        <translation>Este canal no está configurado para enviar mensajes.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Not delivered.</source>
        <translation>No entregado.</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Not sent: %1</source>
        <translation>No enviado: %1</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>right-click to retry or discard</source>
        <translation>clic derecho para reintentar o descartar</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Queued — sending when online</source>
        <translation>En cola — se enviará al recuperar la conexión</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Status → %1</source>
        <translation>Estado → %1</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Unassigned</source>
        <translation>Sin asignar</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Assigned to %1</source>
        <translation>Asignada a %1</translation>
    </message>
    <message>
        <location line="+14"/>
        <source>Back to the queue: %1</source>
        <translation>De vuelta a la cola: %1</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Back to the queue</source>
        <translation>De vuelta a la cola</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Automatically moved from %1 to %2</source>
        <translation>Pasada automáticamente de %1 a %2</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Automatically assigned to %1</source>
        <translation>Asignada automáticamente a %1</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Automatically returned to the queue</source>
        <translation>Devuelta automáticamente a la cola</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>%1 took this</source>
        <translation>%1 la tomó</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>%1 gave this back to the queue</source>
        <translation>%1 la devolvió a la cola</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Handed off by %1 to %2</source>
        <translation>Traspasada por %1 a %2</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Handed back to the queue by %1</source>
        <translation>Traspasada a la cola por %1</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>%1 moved this from %2 to %3</source>
        <translation>%1 la pasó de %2 a %3</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>%1 assigned this to %2</source>
        <translation>%1 la asignó a %2</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>%1 moved this from %2 to the queue</source>
        <translation>%1 la pasó de %2 a la cola</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Assignment changed</source>
        <translation>Asignación cambiada</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>%1: %2</source>
        <translation>%1: %2</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>Internal note</source>
        <translation>Nota interna</translation>
    </message>
    <message>
        <location line="+3"/>
        <location line="+7"/>
        <source>Sending…</source>
        <translation>Enviando…</translation>
    </message>
    <message>
        <location line="+1"/>
        <location line="+1"/>
        <source>✓ Sent</source>
        <translation>✓ Enviado</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>✓✓ Delivered</source>
        <translation>✓✓ Entregado</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>✓✓ Read</source>
        <translation>✓✓ Leído</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Failed</source>
        <translation>Fallido</translation>
    </message>
</context>
<context>
    <name>_LoadingDialog</name>
    <message>
        <location filename="../../ui/team_dialogs.py" line="+70"/>
        <source>Loading…</source>
        <translation>Cargando…</translation>
    </message>
</context>
<context>
    <name>actions</name>
    <message>
        <location filename="../../ui/actions.py" line="+15"/>
        <source>Next conversation</source>
        <translation>Conversación siguiente</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Previous conversation</source>
        <translation>Conversación anterior</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Reply</source>
        <translation>Responder</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Write an internal note</source>
        <translation>Escribir una nota interna</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Canned responses</source>
        <translation>Respuestas predefinidas</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Resolve and go to the next</source>
        <translation>Resolver y pasar a la siguiente</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Assign to me</source>
        <translation>Asignármela</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Snooze</source>
        <translation>Posponer</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Search</source>
        <translation>Buscar</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Command palette</source>
        <translation>Paleta de comandos</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Keyboard shortcuts</source>
        <translation>Atajos de teclado</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Settings</source>
        <translation>Ajustes</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>End shift…</source>
        <translation>Terminar turno…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Team board</source>
        <translation>Panel del equipo</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Dashboard</source>
        <translation>Panel de indicadores</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Hours, SLA and priority rules…</source>
        <translation>Horario, SLA y reglas de prioridad…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Channels…</source>
        <translation>Canales…</translation>
    </message>
</context>
<context>
    <name>agent_status</name>
    <message>
        <location filename="../../ui/agent_status.py" line="+17"/>
        <source>Available</source>
        <translation>Disponible</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Away</source>
        <translation>Ausente</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Offline</source>
        <translation>Desconectado</translation>
    </message>
</context>
<context>
    <name>case_type</name>
    <message>
        <location filename="../../ui/case_types.py" line="+19"/>
        <source>Information</source>
        <translation>Información</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Incident</source>
        <translation>Incidencia</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Post-sale</source>
        <translation>Posventa</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Query</source>
        <translation>Consulta</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Request</source>
        <translation>Solicitud</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Claim</source>
        <translation>Reclamación</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Complaint</source>
        <translation>Queja</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Suggestion</source>
        <translation>Sugerencia</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Compliment</source>
        <translation>Felicitación</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Warranty</source>
        <translation>Garantía</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Return</source>
        <translation>Devolución</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Repair</source>
        <translation>Reparación</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Information: query</source>
        <translation>Información: consulta</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Information: request</source>
        <translation>Información: solicitud</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Incident: claim</source>
        <translation>Incidencia: reclamación</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Incident: complaint</source>
        <translation>Incidencia: queja</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Incident: suggestion</source>
        <translation>Incidencia: sugerencia</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Incident: compliment</source>
        <translation>Incidencia: felicitación</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Post-sale: warranty</source>
        <translation>Posventa: garantía</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Post-sale: return</source>
        <translation>Posventa: devolución</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Post-sale: repair</source>
        <translation>Posventa: reparación</translation>
    </message>
</context>
<context>
    <name>channel</name>
    <message>
        <location filename="../../ui/style.py" line="+37"/>
        <source>WhatsApp</source>
        <translation>WhatsApp</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Messenger</source>
        <translation>Messenger</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Instagram</source>
        <translation>Instagram</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>X</source>
        <translation>X</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Telegram</source>
        <translation>Telegram</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Email</source>
        <translation>Correo electrónico</translation>
    </message>
</context>
<context>
    <name>crash</name>
    <message>
        <location filename="../../ui/crash.py" line="+44"/>
        <source>Something went wrong</source>
        <translation>Algo ha fallado</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Workstation hit an unexpected error and carried on. Details were saved to %1.</source>
        <translation>Workstation ha encontrado un error inesperado y ha seguido funcionando. Los detalles se han guardado en %1.</translation>
    </message>
</context>
<context>
    <name>presence</name>
    <message>
        <location filename="../../ui/agent_status.py" line="+21"/>
        <source>%1 and %2</source>
        <translation>%1 y %2</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>%1, %2 and %3</source>
        <translation>%1, %2 y %3</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>%1, %2 and %3 others</source>
        <translation>%1, %2 y %3 más</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>%1 is typing…</source>
        <translation>%1 está escribiendo…</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>%1 are typing…</source>
        <translation>%1 están escribiendo…</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>%1 is viewing</source>
        <translation>%1 está viendo</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>%1 are viewing</source>
        <translation>%1 están viendo</translation>
    </message>
</context>
<context>
    <name>priority</name>
    <message>
        <location filename="../../ui/case_types.py" line="+13"/>
        <source>Low</source>
        <translation>Baja</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Normal</source>
        <translation>Normal</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>High</source>
        <translation>Alta</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Urgent</source>
        <translation>Urgente</translation>
    </message>
</context>
<context>
    <name>snooze</name>
    <message>
        <location filename="../../ui/resolve_dialog.py" line="+35"/>
        <source>For 1 hour</source>
        <translation>Durante 1 hora</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>For 4 hours</source>
        <translation>Durante 4 horas</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Until tomorrow 09:00</source>
        <translation>Hasta mañana a las 09:00</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Until Monday 09:00</source>
        <translation>Hasta el lunes a las 09:00</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Until the customer writes</source>
        <translation>Hasta que escriba el cliente</translation>
    </message>
</context>
<context>
    <name>status</name>
    <message>
        <location filename="../../ui/style.py" line="+7"/>
        <source>Open</source>
        <translation>Abierta</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Pending</source>
        <translation>Pendiente</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Snoozed</source>
        <translation>Pospuesta</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Resolved</source>
        <translation>Resuelta</translation>
    </message>
</context>
</TS>
